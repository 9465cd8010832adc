-- dz, synced spool: the sending side, on every host.
--
--   lsyncd /etc/dz/lsyncd.conf.lua
--
-- On a synced spool each queue is consumed on one host, its owner. On every
-- other host that queue's new/ is an outbox: producers (the coordinator, a
-- `dz send`, an agent delivering a result) drop into it as usual, no agent
-- serves it there, and this configuration pushes each file into the owner's
-- <queue>/inbox/ and removes it here once it is there. `dz receive` on the
-- owner moves it into new/ exactly once per content: rsync's
-- --remove-source-files is at-least-once (a push cut short between the copy
-- and the removal sends the file again), and the owner drops the copy.
-- Heartbeats (this host's own) and cancel tombstones go to every other host,
-- and the coordinator's host (the owner of jobs) mirrors its published state
-- (state/: the job and project documents) to every other host, so that
-- `dz job wait/show` and `dz deploy`'s progress work there too.
-- See dz-spool(5), "Synced spools".
--
-- Set the four values below per host; everything else is the same on all.

local spool = "/srv/dz/spool"
-- This host's id (DZ_HOST_ID): its heartbeats are hosts/<me>@<pid>.json.
local me = "app1"
-- The rsync daemon address of every host of the cluster (rsyncd.conf).
local hosts = {
    coord = "10.0.0.2",
    build = "10.0.0.5",
    proxy = "10.0.0.9",
    app1 = "10.0.0.11",
}
-- Who owns each queue: the one host whose agents (or coordinator) consume it.
local owners = {
    jobs = "coord", results = "coord",
    build = "build", database = "build", host_build = "build",
    proxy = "proxy", host_proxy = "proxy",
    appserver_app1 = "app1", host_app1 = "app1",
}

settings {
    logfile = "/var/log/lsyncd/dz.log",
    statusFile = "/var/log/lsyncd/dz.status",
    -- Keep going when a host is down at start: its files wait here.
    insist = true,
    maxProcesses = 8,
}

-- What every push needs (see rsyncd.conf for what the receiver refuses):
--   archive: modes (0600 deploy tasks) and mtimes (a deferred task's time is
--     its mtime) kept;
--   temp_dir ../tmp: the file is written in the queue's tmp/ on the receiver
--     and renamed into place whole, never seen half-written;
--   --remove-source-files: sent files leave the outbox (at-least-once);
--   --ignore-existing: a file of the same name waiting in the inbox is never
--     replaced;
--   no --delete (delete = false below but for the mirror of state/, and the
--     receiver's dz-spool module refuses it: at start
--     lsyncd would otherwise delete every file of the target that is not in
--     this host's outbox: other producers' tasks), no --inplace, no --partial.
local auth = "/etc/dz/rsync.password" -- the password of dz-sync, mode 0600
local function push(source, target, extra, temp, mirror, exclude)
    sync {
        default.rsync,
        source = source,
        target = target,
        delete = mirror or false,
        delay = 0,
        exclude = exclude or { ".*" },
        rsync = {
            archive = true,
            password_file = auth,
            temp_dir = temp,
            _extra = extra,
        },
    }
end

for queue, owner in pairs(owners) do
    if owner ~= me then
        push(spool .. "/" .. queue .. "/new/",
             "dz-sync@" .. hosts[owner] .. "::dz-spool/" .. queue .. "/inbox/",
             { "--remove-source-files", "--ignore-existing" }, "../tmp")
    end
end

for name, address in pairs(hosts) do
    if name ~= me then
        -- Only this host's own heartbeats (the others' arrive here too, and
        -- must not go round); replaced in place by rsync's rename.
        push(spool .. "/hosts/", "dz-sync@" .. address .. "::dz-spool/hosts/",
             { "--include=/" .. me .. "@*.json", "--exclude=*" }, nil)
        push(spool .. "/cancel/", "dz-sync@" .. address .. "::dz-spool/cancel/",
             { "--ignore-existing" }, nil)
    end
end

if owners.jobs == me then
    -- The published state: a mirror (the coordinator alone writes it, and
    -- removes a document it no longer publishes), through the dz-state
    -- module, which takes nothing but state/. Not its tmp/, where the
    -- coordinator writes each document before renaming it into place; rsync
    -- writes its own copy as a dotfile beside the target and renames it, so
    -- readers see a whole document. lsyncd needs state/ to exist when it
    -- starts (`mkdir -m 2770 state` in the spool, or start the coordinator
    -- first).
    for name, address in pairs(hosts) do
        if name ~= me then
            push(spool .. "/state/", "dz-sync@" .. address .. "::dz-state/state/",
                 {}, nil, true, { "/tmp/", ".*" })
        end
    end
end
