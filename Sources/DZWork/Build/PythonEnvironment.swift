import DZSystem
import Foundation

/// Virtualenvs for bundles. A virtualenv is not relocatable (its scripts carry absolute shebangs and its `python`
/// links to the builder's interpreter), so dz never runs a venv's scripts: everything starts as
/// `<venv>/bin/python -m ...` (pip, django, gunicorn), which works from any path on hosts with the same interpreter
/// at the same place. That lets a venv be built once per set of requirements, kept in `<data>/venvs/<hash>`, and
/// copied into each bundle whose requirements hash the same: a rebuild with unchanged requirements runs no pip.
/// pip's own cache (`<data>/pip-cache`) keeps downloaded and built wheels between different sets.
struct PythonEnvironment: Sendable {
    let workspace: Workspace
    var pipTimeout: Double = 1800

    /// The interpreter to build with: `python<major.minor>` when the project asks for a version and the host has
    /// it, else `python3` (with a warning when they differ).
    func interpreter(for requested: String?) async -> (path: String, version: String, warning: String?) {
        var candidates = ["python3"]
        if let requested {
            let parts = requested.split(separator: ".")
            if parts.count >= 2 { candidates.insert("python\(parts[0]).\(parts[1])", at: 0) }
        }
        for candidate in candidates {
            guard let path = Subprocess.locate(candidate),
                  let outcome = try? await Subprocess.run([path, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                                                          timeout: 30),
                  outcome.succeeded else { continue }
            let version = outcome.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
            var warning: String?
            if let requested, !version.hasPrefix(requested.split(separator: ".").prefix(2).joined(separator: ".")) {
                warning = "the project asks for Python \(requested); this build host has \(version)"
            }
            return (path, version, warning)
        }
        return ("python3", "unknown", "no python3 found on this build host")
    }

    /// A venv at `destination` with `requirements` installed, built or copied from the cache. Returns whether it
    /// came from the cache. pip's log is appended to `pipLog`; `sourceDirectory` is where `-r` paths are relative to.
    func prepare(python: String, pythonVersion: String, requirements: RequirementSet, sourceDirectory: String,
                 destination: String, pipLog: String) async throws(BuildError) -> Bool
    {
        var digest = SHA256Digest()
        digest.update(Array("python \(pythonVersion)\n".utf8))
        digest.update(Array(requirements.text.utf8))
        for line in requirements.lines where line.hasPrefix("-r ") {
            let file = sourceDirectory + "/" + line.dropFirst(3)
            digest.update((try? FileIO.readAll(file)) ?? [])
        }
        let key = digest.finalize()
        let cached = workspace.root + "/venvs/" + key
        var reused = true
        if !FileSystem.exists(cached + "/.dz-complete") {
            reused = false
            try await build(cached, python: python, requirements: requirements, sourceDirectory: sourceDirectory,
                            pipLog: pipLog)
        }
        try await copyTree(cached, to: destination)
        return reused
    }

    private func build(_ cached: String, python: String, requirements: RequirementSet, sourceDirectory: String,
                       pipLog: String) async throws(BuildError)
    {
        let temporary = cached + ".building-\(Host.pid)"
        try? FileManager.default.removeItem(atPath: temporary)
        do { try FileSystem.makeDirectories(workspace.root + "/venvs") } catch {
            throw BuildError("filesystem", "cannot create \(workspace.root)/venvs: \(error)")
        }
        let venv = try await run([python, "-m", "venv", temporary], step: "python -m venv", timeout: 300)
        _ = venv
        // pip reads a nested `-r` relative to the file that names it: give it the project's files by full path.
        let requirementsFile = temporary + "/dz-requirements.txt"
        let forPip = requirements.lines.map { $0.hasPrefix("-r ") ? "-r " + sourceDirectory + "/" + $0.dropFirst(3) : $0 }
            .joined(separator: "\n") + "\n"
        do { try FileIO.create(requirementsFile, bytes: Array(forPip.utf8), sync: false) } catch {
            throw BuildError("filesystem", "cannot write \(requirementsFile): \(error)")
        }
        // pip also gets the host's pip, proxy and CA settings (nothing else of the agent's environment).
        var environment = BundleBuilder.baseEnvironment
        for (key, value) in ProcessInfo.processInfo.environment
        where key.hasPrefix("PIP_") || ["SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "HTTP_PROXY",
                                         "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"].contains(key) {
            environment[key] = value
        }
        environment["PIP_CACHE_DIR"] = workspace.root + "/pip-cache"
        environment["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        environment["PIP_NO_INPUT"] = "1"
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(
                [temporary + "/bin/python", "-m", "pip", "install", "--log", pipLog, "-r", requirementsFile],
                environment: environment, workingDirectory: sourceDirectory, timeout: pipTimeout)
        } catch {
            throw BuildError("pip", "\(error)")
        }
        switch outcome.ending {
        case .exited(0):
            break
        case .timedOut:
            try? FileManager.default.removeItem(atPath: temporary)
            throw BuildError("pip", "pip install did not finish within \(Int(pipTimeout)) s", retryable: true)
        default:
            try? FileManager.default.removeItem(atPath: temporary)
            throw BuildError("pip", "pip install failed:\n" + outcome.tail(25))
        }
        _ = try? FileIO.create(temporary + "/.dz-complete", bytes: [], sync: false)
        do {
            if FileSystem.exists(cached) { try FileManager.default.removeItem(atPath: cached) }
            try FileSystem.rename(temporary, cached)
        } catch {
            throw BuildError("filesystem", "cannot keep the built venv: \(error)")
        }
    }

    /// Copies a tree keeping symbolic links and modes (`cp -a`).
    func copyTree(_ source: String, to destination: String) async throws(BuildError) {
        _ = try await run(["cp", "-a", "--", source, destination], step: "copy the venv", timeout: 600)
    }

    @discardableResult
    func run(_ arguments: [String], step: String, timeout: Double, environment: [String: String]? = nil,
             directory: String? = nil) async throws(BuildError) -> Subprocess.Outcome
    {
        let outcome: Subprocess.Outcome
        do {
            outcome = try await Subprocess.run(arguments, environment: environment, workingDirectory: directory,
                                               timeout: timeout)
        } catch {
            throw BuildError("python", "\(step): \(error)")
        }
        guard outcome.succeeded else {
            throw BuildError("python", "\(step) failed (\(outcome.ending)):\n" + outcome.tail(20),
                             retryable: outcome.ending == .timedOut)
        }
        return outcome
    }
}
