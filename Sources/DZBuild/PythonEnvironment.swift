import DZBundle
import DZSource
import DZSystem
import Foundation

/// Virtualenvs for bundles. A virtualenv is not relocatable (its scripts carry absolute shebangs and its `python`
/// links to the builder's interpreter), so dz never runs a venv's scripts: everything starts as
/// `<venv>/bin/python -m ...` (pip, django, gunicorn), which works from any path on hosts with the same interpreter
/// at the same place. That lets a venv be built once per set of requirements, kept in the project's own cache
/// (`ProjectCache`), and archived into each of the project's bundles whose requirements hash the same: a rebuild
/// with unchanged requirements runs no pip and copies nothing. pip's own cache, also the project's, keeps downloaded and built wheels
/// between different sets.
///
/// Everything here that runs Python runs in the build's sandbox (`BuildSandbox`): making the venv, pip (the only
/// step with a network).
package struct PythonEnvironment: Sendable {
    var pipTimeout: Double = 1800

    /// Where the build's sandbox shows a virtualenv being made, and so the path in its scripts' `#!` lines; the
    /// app's sandbox has a link there to the bundle's venv, so that those scripts (`django-admin`
    /// in a release command) run there too.
    package static let madeAt = "/dz/venv"

    /// The interpreter to build with: the newest of the host's (`offered`) that the project's `python_version`
    /// allows (any, when it asks for none), with its full version. None fits: the job's one-sentence error.
    static func interpreter(for requested: String?, offered: AllowedPythons) async throws(BuildError)
        -> (path: String, version: String)
    {
        var requirement: PythonRequirement?
        if let requested {
            guard let parsed = PythonRequirement(requested) else {
                throw BuildError("config", "python_version \"\(requested.prefix(64))\" is not a Python version or "
                                 + "specifier such as 3.12, >=3.10,<3.13 or ^3.12")
            }
            requirement = parsed
        }
        guard let path = offered.newest(allowedBy: requirement) else {
            throw BuildError("python-unavailable", AllowedPythons.unavailable(
                requirement ?? PythonRequirement("*")!, basis: "python_version in zoombuild.cfg",
                host: "this build host", offered: offered.summary))
        }
        let outcome = try? await Subprocess.run(
            [path, "-I", "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
            environment: ["PATH": BuildSandbox.searchPath, "LANG": "C.UTF-8"], timeout: 30)
        let version = outcome?.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        guard outcome?.succeeded == true, version.split(separator: ".").count == 3 else {
            throw BuildError("python", "the build host's Python \(path) does not run: "
                             + (outcome.map { $0.tail(5) } ?? "cannot start it"))
        }
        return (path, version)
    }

    /// The virtualenv for `requirements` with the path file `pathFile` in its site-packages, made in the project's
    /// cache unless it is there already. Returns where it is on the host (`<cache>/venvs/<key>`, the build user's
    /// files under the agent's 0700 directory), where its part of bundle archives is kept (`ProjectCache`'s
    /// `<key>.segment`), and whether it came from the cache.
    ///
    /// It is never copied into the build tree: the build's later steps see it read-only at `/dz/build/venv`
    /// (`mount(_:)`), and the archive takes its `venv/` from it (`BundleArchive.create`'s `grafts`). Once made, a
    /// cached virtualenv is never written again (no sandbox gets it writable, and the agent only renames or
    /// removes it whole), so every bundle built from it gets the same files; a copy (seconds, for a Django
    /// virtualenv of some thousand files) bought nothing but a tree the project's code could change, and its
    /// bundle only.
    func prepare(python: String, pythonVersion: String, requirements: RequirementSet, pathFile: String,
                 tree: BuildTree) async throws(BuildError) -> (venv: String, segment: String, reused: Bool)
    {
        var digest = SHA256Digest()
        digest.update(Array("python \(pythonVersion)\n".utf8))
        digest.update(Array(requirements.text.utf8))
        for line in requirements.lines where line.hasPrefix("-r ") {
            digest.update(tree.readCode(String(line.dropFirst(3))) ?? [])
        }
        digest.update(Array("\npath file\n\(pathFile)".utf8))
        let key = digest.finalize()
        let made = try tree.cache.prepare()
        try await tree.sandbox.handOver(made, recursive: false)
        let reused = tree.cache.reuse(key)
        if !reused {
            try await build(key, python: python, requirements: requirements, pathFile: pathFile, tree: tree)
        }
        tree.cache.prune(keeping: key)
        return (tree.cache.venv(key), tree.cache.segment(key), reused)
    }

    /// The cached virtualenv at `venv`, read-only where the bundle has it (`/dz/build/venv`, over the tree's empty
    /// `venv/`), for the steps that run the project's code in the build tree.
    static func mount(_ venv: String) -> BuildSandbox.Mount {
        .init(venv, at: BuildSandbox.buildPath + "/venv", writable: false)
    }

    /// Makes the venv `key` in the project's cache: `venv.create` and the path file, then pip, each in the sandbox.
    private func build(_ key: String, python: String, requirements: RequirementSet, pathFile: String,
                       tree: BuildTree) async throws(BuildError)
    {
        let cache = tree.cache
        let building = cache.venvs + "/" + key + ".building-" + tree.name
        SourceTree.remove(building)
        // pip reads a nested `-r` relative to the file that names it: give it the project's files by full path.
        let forPip = requirements.lines.map { $0.hasPrefix("-r ") ? "-r " + BuildTree.sourcePath + "/" + $0.dropFirst(3) : $0 }
            .joined(separator: "\n") + "\n"
        do {
            try Workspace.makePrivateDirectory(building)
            try FileIO.create(tree.temporary + "/dz-requirements.txt", bytes: Array(forPip.utf8), mode: 0o644,
                              sync: false)
        } catch {
            throw BuildError("filesystem", "cannot prepare \(building): \(error)")
        }
        var succeeded = false
        defer { if !succeeded { SourceTree.remove(building) } }
        try await tree.sandbox.handOver([building], recursive: false)
        let venv = BuildSandbox.Mount(building, at: Self.madeAt, writable: true)

        // The standard library's venv (as `python -m venv` makes it), then the path file: no project code yet.
        let script = """
            import os, sys, venv
            venv.create(sys.argv[1], symlinks=True, with_pip=True)
            site = os.path.join(sys.argv[1], "lib", "python%d.%d" % sys.version_info[:2], "site-packages")
            with open(os.path.join(site, "dz_project.pth"), "x") as out:
                out.write(sys.argv[2])
            """
        let made = try await tree.run([python, "-I", "-c", script, Self.madeAt, pathFile], step: "python -m venv",
                                      mounts: [venv], workingDirectory: "/tmp", timeout: 300, watch: [tree.watch])
        guard made.succeeded else {
            throw BuildError("python", "python -m venv failed (\(made.ending)):\n" + made.tail(20),
                             retryable: made.ending == .timedOut)
        }

        let pipWatch = BuildSandbox.SizeWatch(paths: [cache.pip], maxBytes: tree.limits.maxBundleSize,
                                              maxEntries: tree.limits.maxFiles, what: "the project's pip cache",
                                              option: "dz agent --max-bundle-size")
        let pipCache = BuildSandbox.Mount(cache.pip, at: "/dz/pip-cache", writable: true)
        if cache.pipIsOverfull(maxBytes: tree.limits.maxBundleSize / 2, maxEntries: tree.limits.maxFiles / 2) {
            _ = try await tree.run(["/usr/bin/find", "/dz/pip-cache", "-mindepth", "1", "-delete"],
                                   step: "empty pip's cache", mounts: [pipCache], timeout: 600)
        }
        var environment = ["PIP_CACHE_DIR": "/dz/pip-cache", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                           "PIP_NO_INPUT": "1"]
        let (passed, wheels) = Self.pipSettings(ProcessInfo.processInfo.environment)
        environment.merge(passed) { mine, _ in mine }
        let outcome = try await tree.run(
            [Self.madeAt + "/bin/python", "-m", "pip", "install", "--log", BuildSandbox.buildPath + "/pip.log", "-r",
             "/tmp/dz-requirements.txt"],
            step: "pip install", mounts: [venv, tree.mount, pipCache] + wheels, network: .host,
            workingDirectory: BuildTree.sourcePath, environment: environment, timeout: pipTimeout,
            watch: [BuildSandbox.SizeWatch(paths: tree.watch.paths + [building], maxBytes: tree.limits.maxBundleSize,
                                           maxEntries: tree.limits.maxFiles, what: "the build",
                                           option: "dz agent --max-bundle-size"), pipWatch])
        switch outcome.ending {
        case .exited(0):
            break
        case .timedOut:
            throw BuildError("pip", "pip install did not finish within \(Int(pipTimeout)) s", retryable: true)
        default:
            // The build tree goes with a failed build: pip's whole output is kept beside it, for the operator.
            let output = outcome.stdoutText + "\n" + outcome.stderrText
            let log = tree.directory + ".pip.log"
            let kept = (try? FileIO.create(log, bytes: Array(output.utf8), mode: 0o600, sync: false)) != nil
            throw BuildError("pip", PipFailure.message(output: output, tail: outcome.tail(25), log: kept ? log : nil))
        }
        try cache.keep(building, as: key)
        succeeded = true
    }

    /// What of the agent's environment pip gets: its `PIP_*` settings and the proxy and CA variables (nothing
    /// else: no credentials of the agent's own). Local directories in `PIP_FIND_LINKS` (the operator's
    /// wheelhouses) are bound read-only at `/dz/wheels/<n>` and named so; others are dropped.
    static func pipSettings(_ inherited: [String: String]) -> (environment: [String: String], mounts: [BuildSandbox.Mount]) {
        var environment: [String: String] = [:]
        for (key, value) in inherited
        where key.hasPrefix("PIP_") || ["SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "HTTP_PROXY", "HTTPS_PROXY",
                                        "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"].contains(key) {
            environment[key] = value
        }
        var mounts: [BuildSandbox.Mount] = []
        if let links = environment["PIP_FIND_LINKS"] {
            var kept: [String] = []
            for link in links.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map(String.init) {
                let path = link.hasPrefix("file://") ? String(link.dropFirst("file://".count)) : link
                guard path.hasPrefix("/") else {
                    kept.append(link)
                    continue
                }
                guard (try? FileSystem.status(path))?.isDirectory == true else { continue }
                let inside = "/dz/wheels/\(mounts.count)"
                mounts.append(.init(path, at: inside, writable: false))
                kept.append(inside)
            }
            environment["PIP_FIND_LINKS"] = kept.isEmpty ? nil : kept.joined(separator: " ")
        }
        return (environment, mounts)
    }
}
