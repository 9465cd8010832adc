import DZBundle
import DZSource
import DZSpool
import DZSystem
import Foundation
import Logging

/// Builds a bundle from a project's checked-out revision and its zoombuild.cfg: the code (without `.git`/`.hg`),
/// a virtualenv with the requirements, `dz_settings.py`, the extra python path dirs on the path (a `.pth` of
/// relative paths), an import check of the settings and WSGI application, `collectstatic`, and the archive with
/// its manifest.
///
/// Layout of `<data>/builds/<bundle>/`: `src/` (the code), `venv/` (empty: where the project's cached virtualenv is
/// shown read-only; the archive takes its `venv/` from the cache), `dz/dz_settings.py`, `static/`,
/// `requirements.txt` (what was asked of pip), `pip.log`; the archive is `<data>/bundles/<bundle>.tar.zst` with
/// `<bundle>.tar.zst.manifest.json` beside it.
///
/// A build runs other people's code (pip's build backends, `setup.py`, the settings, collectstatic), so it goes in
/// two parts. The agent, trusted, checks the revision out (refused before anything is written when its files are
/// past `limits`), copies the code into a new build tree, refuses a symbolic link that leads out of it, writes the
/// requirements and `dz_settings.py`, and gives the tree to the build user (`BuildIdentity`). Then every step that
/// runs the project's code runs in the build's sandbox (`BuildSandbox`): the venv (from the project's own cache,
/// `ProjectCache`), then the import check and collectstatic (one Python), each watched against `limits`; only pip
/// has a network. Last the agent, once no process of the project is left, archives the tree: links are never
/// followed and one that leaves the bundle fails the build, and the tree and the static files must be within
/// `limits`. A failed build leaves no build tree behind.
public struct BundleBuilder: Sendable {
    /// The file under a bundle's `dz/` holding zoombuild.cfg's `procfile_release` (empty: none); the appserver's
    /// `ReleaseCommandSource` reads it.
    package static let releaseCommandFile = "procfile_release"

    /// What a collectstatic failure does: fail the build (the default, as Heroku does today) or warn.
    public enum StaticFailurePolicy: String, Sendable {
        case error, warn
    }

    public struct Request: Sendable {
        public var project: ProjectID
        public var source: SourceURL
        public var revision: String?
        public var vcs: SourceCheckout.VCS = .git
        public var config: ZoombuildConfig
        public var staticFailure: StaticFailurePolicy = .error
        /// The app database's engine when the job names one (`postgresql` or `sqlite`), over the config's
        /// `database_type`: it decides the database driver the bundle gets.
        public var databaseEngine: DatabaseEngine?
        /// The minor version to build with when the job chose one (check_placement: one an appserver has too),
        /// over the config's `python_version`.
        public var python: String?

        /// The engine the app's database will have: the one asked for, else the config's, else nil (the
        /// database host decides).
        public var effectiveDatabaseEngine: DatabaseEngine? {
            if let databaseEngine { return databaseEngine }
            switch config.databaseType {
            case .postgresql?, .postgis?, .postgresql84?, .postgresqlGIS?: return .postgresql
            case .sqlite?: return .sqlite
            case .mysql?, nil: return nil
            }
        }

        public init(project: ProjectID, source: SourceURL, revision: String?, config: ZoombuildConfig) {
            self.project = project
            self.source = source
            self.revision = revision
            self.config = config
        }
    }

    public struct Built: Sendable {
        public var name: String
        public var buildDirectory: String
        public var archivePath: String
        public var manifest: BundleManifest
        public var revision: SourceCheckout.Revision
        public var reusedVirtualenv: Bool
        public var warnings: [String]
        /// Seconds spent in each stage, for the job log and the benchmark figures.
        public var timings: [(String, Double)]
        /// The WSGI application gunicorn serves, `module[:callable]`.
        public var wsgi: String
        /// What the proxy serves itself: URL prefix to a directory relative to the bundle's top (collectstatic's
        /// output at `STATIC_URL`, then the site media map).
        public var staticMap: [(url: String, path: String)]
        /// `MEDIA_URL` as the app runs with it (the project's, else `/media/`), when it is a local prefix the
        /// proxy can serve from the app's media directory; nil for media kept on another host.
        public var mediaURL: String?
    }

    public let workspace: Workspace
    public let checkout: SourceCheckout
    /// The caps on the checkout, the build tree, the static files and the bundle.
    public let limits: BuildLimits
    /// The interpreters this build host offers (see `AllowedPythons`).
    public let pythons: AllowedPythons

    public init(workspace: Workspace, limits: BuildLimits = BuildLimits(), checkout: SourceCheckout? = nil,
                pythons: AllowedPythons = .systemDefaults())
    {
        self.workspace = workspace
        self.limits = limits
        self.pythons = pythons
        self.checkout = checkout ?? SourceCheckout(limits: limits)
    }

    public func build(_ request: Request, logger: Logger) async throws(BuildError) -> Built {
        var warnings: [String] = []
        var timings: [(String, Double)] = []
        var mark = Timestamp.now()
        func lap(_ stage: String) {
            let now = Timestamp.now()
            timings.append((stage, now - mark))
            logger.info("build stage done", metadata: ["stage": "\(stage)", "seconds": "\(format(now - mark))"])
            mark = now
        }

        guard let settingsModule = request.config.djangoSettingsModule, !settingsModule.isEmpty else {
            throw BuildError("config", "zoombuild.cfg has no django_settings_module")
        }
        // The interpreter first: a project asking for a Python this host lacks fails in seconds, not after pip.
        let python = try await PythonEnvironment.interpreter(for: request.python ?? request.config.pythonVersion,
                                                                 offered: pythons)
        try workspace.preparePrivateDirectories(for: request.project)
        let pruned = BuildLeftovers(workspace: workspace).prune()
        if !pruned.trees.isEmpty || !pruned.logs.isEmpty {
            logger.info("removed old build leftovers", metadata: ["trees": "\(pruned.trees.count)",
                                                                   "pip_logs": "\(pruned.logs.count)"])
        }
        let identity = try BuildIdentity.forProject(request.project, users: BuildUsers(workspace: workspace))
        var sandbox = try BuildSandbox.prepare(identity: identity, workspace: workspace)
        sandbox.interpreterInstallations = [AllowedPythons.installation(of: python.path)]
        let sourceDirectory = workspace.sourceDirectory(request.project)
        let revision: SourceCheckout.Revision
        do {
            revision = try await checkout.checkout(url: request.source, revision: request.revision, vcs: request.vcs,
                                                   into: sourceDirectory)
        } catch .tooLarge(let bytes, let files, let limits) {
            throw BuildError("too-large", CheckoutError.tooLarge(bytes: bytes, files: files, limits: limits).description)
        } catch {
            throw BuildError("checkout", error.description, retryable: error.isTransient)
        }
        lap("checkout")

        let tree = BuildTree(workspace: workspace, project: request.project, name: uniqueBundleName(request.project),
                             sandbox: sandbox, limits: limits)
        try tree.create()
        do {
            var built = try await build(request, python: python, settingsModule: settingsModule, revision: revision,
                                        from: sourceDirectory, in: tree, warnings: &warnings, lap: lap)
            await tree.removeTemporary()
            built.timings = timings
            return built
        } catch {
            // A failed build leaves nothing behind (it may be one that grew past the caps).
            await tree.remove()
            throw error
        }
    }

    /// The build proper, in `tree` (created, empty): the code, dz's files, the venv, the import check,
    /// collectstatic, the archive.
    private func build(_ request: Request, python: (path: String, version: String), settingsModule: String,
                       revision: SourceCheckout.Revision,
                       from sourceDirectory: String, in tree: BuildTree, warnings: inout [String],
                       lap: (String) -> Void) async throws(BuildError) -> Built
    {
        let build = tree.directory
        try await copyCode(from: sourceDirectory, into: tree)
        lap("copy")

        var files: [(path: String, text: String)] = []
        for path in request.config.requirementsFiles {
            guard let bytes = tree.readCode(path) else {
                throw BuildError("config", "requirements file \(path) is not in the repository (or is not a file of "
                                 + "at most 1 MiB)")
            }
            files.append((path, String(decoding: bytes, as: UTF8.self)))
        }
        let driver: String? = switch (request.effectiveDatabaseEngine, request.config.databaseType) {
        case (.postgresql?, _): "psycopg2-binary"
        case (nil, .mysql?): "mysqlclient"
        default: nil
        }
        let requirements = RequirementSet(projectFiles: files, extra: request.config.extraRequirements,
                                          djangoVersion: request.config.djangoVersion, databaseDriver: driver)
        warnings += requirements.warnings
        try write(requirements.text, to: build + "/requirements.txt")
        try write(SettingsOverride.module(projectSettings: settingsModule), to: build + "/dz/dz_settings.py")
        // zoombuild.cfg's procfile_release, when set (empty: none), goes with the bundle: post_deploy_hooks runs it
        // instead of the Procfile's release line (see `ReleaseCommandSource` in DZDeploy).
        if let release = request.config.procfileRelease {
            try write(release.isEmpty ? "" : release + "\n", to: build + "/dz/" + Self.releaseCommandFile)
        }
        // Where the cached virtualenv is shown read-only (`PythonEnvironment.mount`); the archive never reads it.
        do { try FileSystem.makeDirectory(build + "/venv", mode: 0o755) } catch {
            throw BuildError("filesystem", "cannot create \(build)/venv: \(error)")
        }
        // From here on the tree is the build user's, and the agent only reads it once each sandbox has ended.
        try await tree.sandbox.handOver([build, tree.temporary], recursive: true)

        let environment = PythonEnvironment()
        let (venv, segment, reused) = try await environment.prepare(
            python: python.path, pythonVersion: python.version, requirements: requirements,
            pathFile: Self.pathFile(extraDirs: request.config.additionalPythonPathDirs), tree: tree)
        let venvMount = PythonEnvironment.mount(venv)
        lap(reused ? "virtualenv (reused)" : "virtualenv (pip install)")

        let wsgi = request.config.wsgiModule ?? settingsModule.split(separator: ".").dropLast().joined(separator: ".")
            + (settingsModule.contains(".") ? ".wsgi" : "wsgi")
        if let web = request.config.procfileWeb, !web.split(separator: " ").contains(where: { $0.hasSuffix("gunicorn") }) {
            warnings.append("the Procfile's web: line (\(web.prefix(80))) is not gunicorn, which is what dz "
                            + "supervises: it serves the WSGI application \(wsgi) with gunicorn instead")
        }
        let (facts, staticFailure) = try await checkAndCollectStatic(tree, venv: venvMount, wsgiModule: wsgi)
        if let staticFailure {
            if request.staticFailure == .error { throw BuildError("collectstatic", staticFailure) }
            warnings.append(staticFailure)
        }
        lap(facts.staticfiles ? "import check and collectstatic" : "import check")

        var staticMap: [(url: String, path: String)] = []
        if facts.staticfiles, let url = facts.staticURL { staticMap.append((url, "static")) }
        for entry in request.config.siteMediaMap {
            let url = "/" + entry.url.split(separator: "/").joined(separator: "/") + "/"
            let sitePackages = "{SITE_PACKAGES}/"
            let path = entry.path.hasPrefix(sitePackages)
                ? "venv/lib/python\(python.version.split(separator: ".").prefix(2).joined(separator: "."))/site-packages/"
                    + entry.path.dropFirst(sitePackages.count)
                : "src/" + entry.path
            // MEDIA_URL is served from the app's media directory on the appserver, which outlives releases, never
            // from a copy in the bundle (the inspector proposes a site_media_map line for it).
            if url == facts.mediaURL { continue }
            if !staticMap.contains(where: { $0.url == url }) { staticMap.append((url, path)) }
        }
        try checkStaticSize(staticMap.map(\.path), in: build, venv: venv)

        var manifest = BundleManifest(name: tree.name, project: request.project.rawValue, codeRevision: revision.commit,
                                      pythonVersion: python.version, djangoVersion: facts.djangoVersion,
                                      created: .now())
        let archive = workspace.root + "/bundles/" + tree.name + ".tar.zst"
        // The venv's absolute links to the interpreter stay out of the archive (see `Interpreter`), which is
        // written from the tree as the project's code left it (nothing is changed in it first), its `venv/` from
        // the cached virtualenv that the code saw read-only there: copied compressed from the virtualenv's segment
        // once an archive has made it (`ProjectCache`).
        let minor = python.version.split(separator: ".").prefix(2).joined(separator: ".")
        do {
            manifest = try BundleArchive.create(
                from: build, to: archive, manifest: manifest,
                limits: .init(maxBytes: limits.maxBundleSize, maxEntries: limits.maxFiles),
                omittingLinks: ["venv/bin/python", "venv/bin/python3", "venv/bin/python" + minor],
                grafts: ["venv": venv], segments: ["venv": segment])
        } catch {
            throw Self.archiveError(error, what: "the bundle")
        }
        lap("archive")
        return Built(name: tree.name, buildDirectory: build, archivePath: archive, manifest: manifest,
                     revision: revision, reusedVirtualenv: reused, warnings: warnings, timings: [], wsgi: wsgi,
                     staticMap: staticMap, mediaURL: facts.mediaURL)
    }

    /// Copies the working copy's files (not `.git` or `.hg`) into `<build>/src` as the agent (no project code has
    /// run yet), then refuses a link that leads out of the bundle and code past the bundle's cap.
    private func copyCode(from source: String, into tree: BuildTree) async throws(BuildError) {
        let code = tree.directory + "/src"
        do { try FileSystem.makeDirectory(code, mode: 0o755) } catch {
            throw BuildError("filesystem", "cannot create \(code): \(error)")
        }
        let names = ((try? FileSystem.names(in: source)) ?? []).filter { $0 != ".git" && $0 != ".hg" }.sorted()
        if !names.isEmpty {
            let outcome = try? await Subprocess.run(["/bin/cp", "-a", "--"] + names + [code + "/"],
                                                    environment: ["PATH": "/usr/bin:/bin", "LANG": "C"],
                                                    workingDirectory: source, timeout: 600)
            guard outcome?.succeeded == true else {
                throw BuildError("filesystem", "copy the code failed:\n" + (outcome?.tail(10) ?? "cp did not run"))
            }
        }
        do {
            _ = try BundleArchive.checkTree(code, under: ["src"],
                                            limits: .init(maxBytes: limits.maxBundleSize, maxEntries: limits.maxFiles))
        } catch {
            throw Self.archiveError(error, what: "the code")
        }
    }

    /// Refuses static files (collectstatic's output and the `site_media_map` directories, each counted once)
    /// past `limits.maxStaticSize`.
    private func checkStaticSize(_ paths: [String], in build: String, venv: String) throws(BuildError) {
        var roots: [String] = []
        for path in Set(paths) where !path.split(separator: "/").contains("..") {
            roots.append(path.hasPrefix("venv/") ? venv + "/" + path.dropFirst("venv/".count) : build + "/" + path)
        }
        let size = TreeSize.measure(roots.sorted(), stopAfter: limits.maxStaticSize, entries: limits.maxFiles)
        if size.exceeds(maxBytes: limits.maxStaticSize, maxEntries: limits.maxFiles) {
            throw BuildLimits.exceeded("the static files", size: size, maxBytes: limits.maxStaticSize,
                                       maxEntries: limits.maxFiles, option: "dz agent --max-static-size")
        }
    }

    /// A link out of the bundle or a tree past the caps as the build's error; anything else as an archive error.
    private static func archiveError(_ error: BundleArchiveError, what: String) -> BuildError {
        switch error {
        case .linkLeavesBundle:
            BuildError("link", error.description)
        case .tooLarge, .tooManyEntries:
            BuildError("too-large", "\(what) is too large: \(error) (dz agent --max-bundle-size)")
        default:
            BuildError("archive", "\(error)")
        }
    }

    /// `bundle_<project>_<UTC time>`, with a suffix when a build of the same second exists.
    private func uniqueBundleName(_ project: ProjectID) -> String {
        BundleManifest.uniqueBundleName(project: project.rawValue, at: .now()) { name in
            FileSystem.exists(workspace.root + "/builds/" + name)
                || FileSystem.exists(workspace.root + "/bundles/" + name + ".tar.zst")
        }
    }

    /// The environment Django runs in at build time (besides the sandbox's own): a throwaway SQLite database in
    /// the build's `/tmp`, the bundle's settings module, unbuffered output (so that what the project printed
    /// before a crash is in the output quoted, in order with its traceback).
    static let djangoEnvironment = [
        "DJANGO_SETTINGS_MODULE": SettingsOverride.moduleName,
        "DZ_DATABASE_URL": "sqlite:////tmp/build-check.sqlite3",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    ]

    /// What the build's Python prints, on a line of its own, before the import check's facts (standard output) and
    /// where collectstatic's output begins (both streams).
    static let factsMark = "dz-build-facts: "

    /// Imports the settings and the WSGI application in the new environment and reports Django's version, whether
    /// staticfiles is installed, and `STATIC_URL` and `MEDIA_URL` as dz's settings module leaves them; then, in
    /// the same process when staticfiles is installed, runs collectstatic as `python -m django collectstatic
    /// --noinput` would (one start of Python, Django and the settings instead of two). An ImportError aborts the
    /// build with its text; a failed collectstatic is returned as its message (the last lines of what it
    /// printed), for the caller's `staticFailure` policy. The process is watched against the build's bounds and
    /// the static files' from its start.
    private func checkAndCollectStatic(_ tree: BuildTree, venv: BuildSandbox.Mount, wsgiModule: String)
        async throws(BuildError)
        -> (facts: (djangoVersion: String, staticfiles: Bool, staticURL: String?, mediaURL: String?),
            staticFailure: String?)
    {
        let module = wsgiModule.split(separator: ":").first.map(String.init) ?? wsgiModule
        let callable = wsgiModule.contains(":") ? String(wsgiModule.split(separator: ":")[1]) : "application"
        let script = """
            import importlib, json, sys, django
            django.setup()
            from django.conf import settings
            application = getattr(importlib.import_module(\(pythonString(module))), \(pythonString(callable)))
            staticfiles = "django.contrib.staticfiles" in settings.INSTALLED_APPS
            facts = json.dumps({"django": django.get_version(), "staticfiles": staticfiles,
                                "static_url": str(getattr(settings, "STATIC_URL", "") or ""),
                                "media_url": str(getattr(settings, "MEDIA_URL", "") or "")})
            print("\\n\(Self.factsMark)" + facts, flush=True)
            print("\\n\(Self.factsMark)", file=sys.stderr, flush=True)
            if staticfiles:
                from django.core.management import execute_from_command_line
                execute_from_command_line(["python -m django", "collectstatic", "--noinput"])
            """
        let outcome = try await tree.run([BuildSandbox.buildPath + "/venv/bin/python", "-c", script],
                                         step: "import check and collectstatic", mounts: [tree.mount, venv],
                                         environment: Self.djangoEnvironment, timeout: 900,
                                         watch: [tree.staticWatch, tree.watch])
        let (checked, collected) = Self.split(outcome)
        guard let line = checked.stdoutText.split(separator: "\n").last(where: { $0.hasPrefix(Self.factsMark) }),
              let facts = try? JSONValue.parse(Array(line.dropFirst(Self.factsMark.count).utf8)).objectValue,
              // Past the facts line only collectstatic runs; without it, the process must have succeeded.
              outcome.succeeded || facts["staticfiles"] == .bool(true)
        else {
            throw BuildError("import", "the settings or the WSGI application \(wsgiModule) do not import:\n"
                             + checked.tail(15))
        }
        let staticfiles = facts["staticfiles"] == .bool(true)
        // Only a local path prefix can be served by the proxy (a STATIC_URL on a CDN is the project's business).
        return ((facts["django"]?.stringValue ?? "unknown", staticfiles,
                 Self.servablePrefix(facts["static_url"]?.stringValue),
                 Self.servablePrefix(facts["media_url"]?.stringValue)),
                staticfiles && !outcome.succeeded ? "collectstatic failed:\n" + collected.tail(15) : nil)
    }

    /// The output of the import check (up to and with the facts line) and that of collectstatic (after the mark
    /// on each stream), each with the process's ending; without the facts line, all of it is the import check's.
    static func split(_ outcome: Subprocess.Outcome) -> (check: Subprocess.Outcome, collectstatic: Subprocess.Outcome) {
        let mark = Array(("\n" + factsMark).utf8)
        func cut(_ bytes: [UInt8], keepingLine: Bool) -> ([UInt8], [UInt8])? {
            guard let start = firstRange(of: mark, in: bytes) else { return nil }
            let lineEnd = bytes[(start + 1)...].firstIndex(of: UInt8(ascii: "\n")) ?? bytes.endIndex
            let after = lineEnd < bytes.endIndex ? Array(bytes[(lineEnd + 1)...]) : []
            return (Array(bytes[..<(keepingLine ? lineEnd : start)]), after)
        }
        var (check, collectstatic) = (outcome, outcome)
        guard let (stdoutBefore, stdoutAfter) = cut(outcome.stdout, keepingLine: true) else {
            (collectstatic.stdout, collectstatic.stderr) = ([], [])
            return (check, collectstatic)
        }
        let (stderrBefore, stderrAfter) = cut(outcome.stderr, keepingLine: false) ?? (outcome.stderr, [])
        (check.stdout, check.stderr) = (stdoutBefore, stderrBefore)
        (collectstatic.stdout, collectstatic.stderr) = (stdoutAfter, stderrAfter)
        return (check, collectstatic)
    }

    private static func firstRange(of needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count, let first = needle.first else { return nil }
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == first, haystack[index..<(index + needle.count)].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }

    /// A URL prefix the proxy can serve from a local directory, with its leading and trailing slash (`media/`
    /// becomes `/media/`), or nil for an empty one, `/` or one on another host (`https://cdn.example/`,
    /// `//cdn.example/`): a project that keeps its files elsewhere serves them itself.
    static func servablePrefix(_ text: String?) -> String? {
        var url = text ?? ""
        if !url.hasPrefix("/"), !url.contains(":") { url = "/" + url }
        if !url.hasSuffix("/") { url += "/" }
        let servable = url.count > 2 && !url.contains("//")
            && url.utf8.allSatisfy { $0 < 0x80 && ($0 == 0x2F || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
                                                || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0)
                                                || (0x61...0x7A).contains($0)) }
        return servable ? url : nil
    }

    /// The lines of `venv/lib/pythonX.Y/site-packages/dz_project.pth`: the code, the extra dirs and `dz/`, as
    /// paths relative to site-packages, so that the bundle works wherever it is extracted.
    static func pathFile(extraDirs: [String]) -> String {
        let up = "../../../../"
        return ([up + "src"] + extraDirs.map { up + "src/" + $0 } + [up + "dz"]).joined(separator: "\n") + "\n"
    }

    /// Writes one of dz's files into a build tree no project code has run in yet.
    private func write(_ text: String, to path: String) throws(BuildError) {
        do {
            try FileSystem.makeDirectories(BundleArchive.parent(of: path))
            try FileIO.create(path, bytes: Array(text.utf8), mode: 0o644, sync: false)
        } catch {
            throw BuildError("filesystem", "cannot write \(path): \(error)")
        }
    }
}

/// A Python string literal for a module or attribute name (already validated as a dotted identifier).
private func pythonString(_ text: String) -> String {
    "'" + text.filter { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." } + "'"
}

private func format(_ seconds: Double) -> String { String(format: "%.2f", seconds) }
