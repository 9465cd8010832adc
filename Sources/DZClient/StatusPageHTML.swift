/// The status page itself: static HTML with a small script that polls `status.json` (written beside it by
/// `StatusPageWriter`) every second and renders it with DOM text nodes only (data never becomes markup).
/// `index.html#job=<id>` follows one job: it is shown first, and the document title says its state and
/// progress (`dz job <id>: running 3/9`), so that a tab (or a test) can watch it to its end.
enum StatusPageHTML {
    static let page = #"""
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>dz status</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; background: #fafafa; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.2em 0 .4em; }
table { border-collapse: collapse; background: #fff; } th, td { padding: .2em .6em; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
th { background: #eee; } .muted { color: #777; } .stale { color: #b00; font-weight: bold; }
.state-succeeded { color: #070; } .state-failed { color: #b00; } .state-cancelled { color: #a60; }
.state-running { color: #06c; font-weight: bold; } .state-queued, .state-pending, .state-dispatching { color: #777; }
.job { background: #fff; border: 1px solid #ccc; border-radius: 4px; padding: .6em 1em; margin: .6em 0; }
.job.focus { border: 2px solid #06c; }
.bar { display: inline-block; width: 12em; height: .8em; background: #ddd; vertical-align: middle; border-radius: 3px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: #06c; }
pre.log { background: #222; color: #ddd; padding: .5em; max-height: 16em; overflow: auto; font-size: 12px; margin: .4em 0 0; }
a { color: #06c; }
</style>
</head>
<body>
<h1>dz status</h1>
<div id="meta" class="muted">loading status.json…</div>
<div id="focus"></div>
<h2>Queues</h2><div id="queues"></div>
<h2>Running jobs</h2><div id="running"></div>
<h2>Recent jobs</h2><div id="jobs"></div>
<h2>Hosts</h2><div id="hosts"></div>
<h2>Apps</h2><div id="apps"></div>
<script>
"use strict";
const FINAL = ["succeeded", "failed", "cancelled"];
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
function table(headers, rows) {
  if (rows.length === 0) return el("div", {class: "muted"}, "none");
  return el("table", {}, el("tr", {}, ...headers.map(h => el("th", {}, h))),
            ...rows.map(row => el("tr", row.attrs || {}, ...row.cells.map(c => el("td", {}, c)))));
}
function age(seconds) {
  if (seconds === null || seconds === undefined) return "-";
  if (seconds < 60) return Math.round(seconds) + "s";
  if (seconds < 3600) return Math.round(seconds / 60) + "m";
  if (seconds < 86400) return (seconds / 3600).toFixed(1) + "h";
  return (seconds / 86400).toFixed(1) + "d";
}
function state(text) { return el("span", {class: "state-" + text}, text); }
function focusID() { const m = /^#job=([A-Za-z0-9._-]+)$/.exec(location.hash); return m ? m[1] : null; }
function jobBox(job, focused) {
  const done = job.steps_done || 0, total = job.steps_total || 0;
  const pct = total ? Math.round(100 * done / total) : 0;
  const box = el("div", {class: "job" + (focused ? " focus" : ""), "data-job": job.id, "data-state": job.state},
    el("div", {}, el("a", {href: "#job=" + job.id}, job.id), " ", el("b", {}, job.kind),
       job.project ? " · " + job.project : "", " · ", state(job.state), " · ",
       el("span", {class: "bar", title: done + "/" + total}, el("span", {style: "width:" + pct + "%"})),
       " " + done + "/" + total + " steps"),
    job.error ? el("div", {class: "state-failed"}, job.error) : null,
    table(["step", "state", "queue", "host", "attempt", "time", "error"],
      (job.steps || []).map(s => ({attrs: {"data-step": s.name, "data-state": s.state},
        cells: [s.compensation ? s.name + " (undo)" : s.name, state(s.state), s.queue, s.host || "-",
                s.attempt ? s.attempt + "/" + s.max_attempts : "-",
                s.seconds !== undefined ? s.seconds.toFixed(1) + "s" : "-", s.error || ""]}))));
  const log = job.log || [];
  if (log.length) {
    box.append(el("pre", {class: "log"}, log.map(l => l.ts + " " + l.level + " " + l.message).join("\n")));
  }
  return box;
}
function render(data) {
  const now = Date.now() / 1000;
  const lag = now - data.generated_unix;
  const meta = document.getElementById("meta");
  meta.replaceChildren("spool " + data.spool + " · coordinator ",
    data.coordinator ? data.coordinator.host + " (pid " + data.coordinator.pid + ")" : el("span", {class: "stale"}, "none"),
    " · updated " + age(Math.max(0, lag)) + " ago",
    lag > 60 ? el("span", {class: "stale"}, " (stale: is the coordinator running?)") : "");
  document.getElementById("queues").replaceChildren(table(
    ["queue", "waiting", "deferred", "running", "stale", "done today", "failed", "oldest"],
    (data.queues || []).map(q => ({attrs: {"data-queue": q.queue}, cells: [q.queue, q.waiting, q.deferred,
      q.running, q.stale, q.done_today, q.failed, age(q.oldest_waiting_s)]}))));
  const jobs = data.recent_jobs || [];
  const running = jobs.filter(j => !FINAL.includes(j.state));
  document.getElementById("running").replaceChildren(
    ...(running.length ? running.map(j => jobBox(j, false)) : [el("div", {class: "muted"}, "none")]));
  document.getElementById("jobs").replaceChildren(table(["job", "kind", "project", "state", "steps", "issued", "by"],
    jobs.map(j => ({attrs: {"data-job": j.id}, cells: [el("a", {href: "#job=" + j.id}, j.id), j.kind,
      j.project || "-", state(j.state), (j.steps_done || 0) + "/" + (j.steps_total || 0), j.issued_at || "-",
      j.issued_by || "-"]}))));
  document.getElementById("hosts").replaceChildren(table(
    ["host", "pid", "queues", "running", "load", "memory free", "disk free", "heartbeat", "version"],
    (data.hosts || []).map(h => ({attrs: {"data-host": h.host}, cells: [h.host, h.pid, (h.queues || []).join(", "),
      (h.running || []).length + "/" + h.concurrency, (h.load_average || []).map(x => x.toFixed(2)).join(" "),
      h.memory_available ? Math.round(h.memory_available / 1048576) + " MiB" : "-",
      h.disk_available ? Math.round(h.disk_available / 1073741824) + " GiB" : "-",
      age(h.heartbeat_age_s) + " ago", h.version]}))));
  document.getElementById("apps").replaceChildren(table(
    ["app", "host names", "release", "instances", "where", "config (values hidden)"],
    (data.apps || []).map(a => ({attrs: {"data-app": a.project}, cells: [a.project, (a.hostnames || []).join(", "),
      a.current_release === null ? "-" : "#" + a.current_release, a.instances === null ? "-" : a.instances,
      (a.active || []).map(d => d.appserver + (d.port ? ":" + d.port : "")).join(", ") || "-",
      Object.keys(a.config || {}).sort().map(k => k + "=" + a.config[k]).join(" ") || "-"]}))));
  const id = focusID();
  const focus = document.getElementById("focus");
  if (id) {
    const job = jobs.find(j => j.id === id);
    focus.replaceChildren(el("h2", {}, "Job " + id), job ? jobBox(job, true)
      : el("div", {class: "muted"}, "not among the " + jobs.length + " newest jobs (yet)"));
    document.title = job ? "dz job " + id + ": " + job.state + " " + job.steps_done + "/" + job.steps_total
                         : "dz job " + id + ": unknown";
  } else {
    focus.replaceChildren();
    document.title = "dz status: " + running.length + " running";
  }
}
let last = null;
async function poll() {
  try {
    const response = await fetch("status.json", {cache: "no-store"});
    if (!response.ok) throw new Error("HTTP " + response.status);
    last = await response.json();
    render(last);
  } catch (error) {
    document.getElementById("meta").replaceChildren(el("span", {class: "stale"}, "cannot read status.json: " + error.message));
  }
  setTimeout(poll, 1000);
}
window.addEventListener("hashchange", () => { if (last) render(last); });
poll();
</script>
</body>
</html>
"""#
}
