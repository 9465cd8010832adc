import DZSpool
import DZSystem
import Foundation
import Logging

/// Builds a bundle from a project's checked-out revision and its zoombuild.cfg: the code (without `.git`/`.hg`),
/// a virtualenv with the requirements, `dz_settings.py`, the extra python path dirs on the path (a `.pth` of
/// relative paths), an import check of the settings and WSGI application, `collectstatic`, and the archive with
/// its manifest.
///
/// Layout of `<data>/builds/<bundle>/`: `src/` (the code), `venv/`, `dz/dz_settings.py`, `static/`,
/// `requirements.txt` (what was asked of pip), `pip.log`; the archive is `<data>/bundles/<bundle>.tar.zst` with
/// `<bundle>.tar.zst.manifest.json` beside it.
public struct BundleBuilder: Sendable {
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
        public var databaseEngine: AppDatabase.Engine?

        /// The engine the app's database will have: the one asked for, else the config's, else nil (the
        /// database host decides).
        public var effectiveDatabaseEngine: AppDatabase.Engine? {
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
    }

    public let workspace: Workspace
    public let checkout: SourceCheckout

    public init(workspace: Workspace, checkout: SourceCheckout = SourceCheckout()) {
        self.workspace = workspace
        self.checkout = checkout
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
        let sourceDirectory = workspace.sourceDirectory(request.project)
        let revision: SourceCheckout.Revision
        do {
            revision = try await checkout.checkout(url: request.source, revision: request.revision, vcs: request.vcs,
                                                   into: sourceDirectory)
        } catch {
            throw BuildError("checkout", error.description, retryable: error.isTransient)
        }
        lap("checkout")

        let name = uniqueBundleName(request.project)
        let build = workspace.root + "/builds/" + name
        let environment = PythonEnvironment(workspace: workspace)
        do { try FileSystem.makeDirectories(build + "/dz") } catch {
            throw BuildError("filesystem", "cannot create \(build): \(error)")
        }
        try await environment.run(["cp", "-a", "--", sourceDirectory + "/.", build + "/src"], step: "copy the code",
                                  timeout: 600)
        for vcsDirectory in [".git", ".hg"] { try? FileManager.default.removeItem(atPath: build + "/src/" + vcsDirectory) }
        lap("copy")

        var files: [(path: String, text: String)] = []
        for path in request.config.requirementsFiles {
            guard let bytes = try? FileIO.readAll(build + "/src/" + path) else {
                throw BuildError("config", "requirements file \(path) is not in the repository")
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

        let python = await environment.interpreter(for: request.config.pythonVersion)
        if let warning = python.warning { warnings.append(warning) }
        let reused = try await environment.prepare(python: python.path, pythonVersion: python.version,
                                                   requirements: requirements, sourceDirectory: build + "/src",
                                                   destination: build + "/venv", pipLog: build + "/pip.log")
        lap(reused ? "virtualenv (reused)" : "virtualenv (pip install)")

        try writePathFile(build: build, pythonVersion: python.version, extraDirs: request.config.additionalPythonPathDirs)
        try write(SettingsOverride.module(projectSettings: settingsModule), to: build + "/dz/dz_settings.py")
        let wsgi = request.config.wsgiModule ?? settingsModule.split(separator: ".").dropLast().joined(separator: ".")
            + (settingsModule.contains(".") ? ".wsgi" : "wsgi")
        let facts = try await verify(build: build, wsgiModule: wsgi)
        lap("import check")

        if facts.staticfiles {
            let outcome = try? await Subprocess.run(
                [build + "/venv/bin/python", "-m", "django", "collectstatic", "--noinput"],
                environment: djangoEnvironment(build), workingDirectory: build, timeout: 600)
            if outcome?.succeeded != true {
                let message = "collectstatic failed:\n" + (outcome?.tail(15) ?? "could not run python")
                if request.staticFailure == .error { throw BuildError("collectstatic", message) }
                warnings.append(message)
            }
            lap("collectstatic")
        }

        var manifest = BundleManifest(name: name, project: request.project.rawValue, codeRevision: revision.commit,
                                      pythonVersion: python.version, djangoVersion: facts.djangoVersion,
                                      created: .now())
        do { try FileSystem.makeDirectories(workspace.root + "/bundles") } catch {
            throw BuildError("filesystem", "cannot create \(workspace.root)/bundles: \(error)")
        }
        let archive = workspace.root + "/bundles/" + name + ".tar.zst"
        // The venv's absolute links to the interpreter stay out of the archive (see `Interpreter`); the build
        // directory gets them back for whoever uses it next.
        Interpreter.detach(venv: build + "/venv")
        defer { try? Interpreter.restore(venv: build + "/venv") }
        do { manifest = try BundleArchive.create(from: build, to: archive, manifest: manifest) } catch {
            throw BuildError("archive", "\(error)")
        }
        lap("archive")
        var staticMap: [(url: String, path: String)] = []
        if facts.staticfiles, let url = facts.staticURL { staticMap.append((url, "static")) }
        for entry in request.config.siteMediaMap {
            let url = "/" + entry.url.split(separator: "/").joined(separator: "/") + "/"
            let sitePackages = "{SITE_PACKAGES}/"
            let path = entry.path.hasPrefix(sitePackages)
                ? "venv/lib/python\(python.version)/site-packages/" + entry.path.dropFirst(sitePackages.count)
                : "src/" + entry.path
            if !staticMap.contains(where: { $0.url == url }) { staticMap.append((url, path)) }
        }
        return Built(name: name, buildDirectory: build, archivePath: archive, manifest: manifest, revision: revision,
                     reusedVirtualenv: reused, warnings: warnings, timings: timings, wsgi: wsgi, staticMap: staticMap)
    }

    /// What the project's code (pip's builds, the import check, collectstatic) runs with: a fixed minimal
    /// environment, so that nothing of the agent's own (AWS credentials, the admin database password file) reaches
    /// code dz does not control.
    static var baseEnvironment: [String: String] {
        let inherited = ProcessInfo.processInfo.environment
        return ["PATH": inherited["PATH"] ?? "/usr/local/bin:/usr/bin:/bin", "HOME": inherited["HOME"] ?? "/nonexistent",
                "LANG": "C.UTF-8"]
    }

    /// `bundle_<project>_<UTC time>`, with a suffix when a build of the same second exists.
    private func uniqueBundleName(_ project: ProjectID) -> String {
        BundleManifest.uniqueBundleName(project: project.rawValue, at: .now()) { name in
            FileSystem.exists(workspace.root + "/builds/" + name)
                || FileSystem.exists(workspace.root + "/bundles/" + name + ".tar.zst")
        }
    }

    /// The environment Django runs in at build time: a throwaway SQLite database, the bundle's settings module.
    func djangoEnvironment(_ build: String) -> [String: String] {
        var environment = BundleBuilder.baseEnvironment
        environment["DJANGO_SETTINGS_MODULE"] = SettingsOverride.moduleName
        environment["DZ_DATABASE_URL"] = "sqlite:///" + build + "/dz/build-check.sqlite3"
        environment["PYTHONDONTWRITEBYTECODE"] = "1"
        return environment
    }

    /// Imports the settings and the WSGI application in the new environment; reports Django's version and whether
    /// staticfiles is installed. An ImportError aborts the build with its text.
    private func verify(build: String, wsgiModule: String) async throws(BuildError)
        -> (djangoVersion: String, staticfiles: Bool, staticURL: String?)
    {
        let module = wsgiModule.split(separator: ":").first.map(String.init) ?? wsgiModule
        let callable = wsgiModule.contains(":") ? String(wsgiModule.split(separator: ":")[1]) : "application"
        let script = """
            import importlib, json, django
            django.setup()
            from django.conf import settings
            application = getattr(importlib.import_module(\(pythonString(module))), \(pythonString(callable)))
            print(json.dumps({"django": django.get_version(),
                              "staticfiles": "django.contrib.staticfiles" in settings.INSTALLED_APPS,
                              "static_url": str(getattr(settings, "STATIC_URL", "") or "")}))
            """
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run([build + "/venv/bin/python", "-c", script],
                                               environment: djangoEnvironment(build), workingDirectory: build,
                                               timeout: 300)
        } catch {
            throw BuildError("import", "\(error)")
        }
        guard outcome.succeeded, let line = outcome.stdoutText.split(separator: "\n").last,
              let facts = try? JSONValue.parse(Array(line.utf8)).objectValue
        else {
            throw BuildError("import", "the settings or the WSGI application \(wsgiModule) do not import:\n"
                             + outcome.tail(15))
        }
        try? FileManager.default.removeItem(atPath: build + "/dz/build-check.sqlite3")
        // Only a local path prefix can be served by the proxy (a STATIC_URL on a CDN is the project's business).
        var staticURL = facts["static_url"]?.stringValue ?? ""
        if !staticURL.hasPrefix("/"), !staticURL.contains(":") { staticURL = "/" + staticURL }
        if !staticURL.hasSuffix("/") { staticURL += "/" }
        let servable = staticURL.count > 2 && !staticURL.contains("//")
            && staticURL.utf8.allSatisfy { $0 < 0x80 && ($0 == 0x2F || $0 == 0x2E || $0 == 0x5F || $0 == 0x2D
                                                          || (0x30...0x39).contains($0) || (0x41...0x5A).contains($0)
                                                          || (0x61...0x7A).contains($0)) }
        return (facts["django"]?.stringValue ?? "unknown", facts["staticfiles"] == .bool(true),
                servable ? staticURL : nil)
    }

    /// `venv/lib/pythonX.Y/site-packages/dz_project.pth`: the code, the extra dirs and `dz/`, as paths relative
    /// to site-packages, so that the bundle works wherever it is extracted.
    private func writePathFile(build: String, pythonVersion: String, extraDirs: [String]) throws(BuildError) {
        let lib = build + "/venv/lib"
        guard let pythonDir = (try? FileSystem.names(in: lib))?.first(where: { $0.hasPrefix("python") }) else {
            throw BuildError("python", "no lib/python* in the virtualenv")
        }
        let up = "../../../../"
        let lines = [up + "src"] + extraDirs.map { up + "src/" + $0 } + [up + "dz"]
        try write(lines.joined(separator: "\n") + "\n", to: lib + "/" + pythonDir + "/site-packages/dz_project.pth")
    }

    private func write(_ text: String, to path: String) throws(BuildError) {
        try? FileSystem.unlink(path)
        do { try FileIO.create(path, bytes: Array(text.utf8), mode: 0o644, sync: false) } catch {
            throw BuildError("filesystem", "cannot write \(path): \(error)")
        }
    }
}

/// A Python string literal for a module or attribute name (already validated as a dotted identifier).
private func pythonString(_ text: String) -> String {
    "'" + text.filter { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." } + "'"
}

private func format(_ seconds: Double) -> String { String(format: "%.2f", seconds) }
