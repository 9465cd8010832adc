import DZSystem
import DZTestSupport
import Foundation

/// Debian's sshd on a free loopback port, as root, with its own host key and one client key whose
/// `authorized_keys` line forces `dz <forcedCommand>` (with `restrict`): the real ssh a pusher goes through.
final class SSHServer {
    let directory: String
    let port: Int
    let process: DZProcess
    /// ssh with the client key, this server's port and no known-hosts file, as words.
    let client: [String]

    /// `client` as one command line, for GIT_SSH_COMMAND.
    var clientCommand: String { client.joined(separator: " ") }

    private init(directory: String, port: Int, process: DZProcess, client: [String]) {
        self.directory = directory
        self.port = port
        self.process = process
        self.client = client
    }

    static func start(in scratch: String, dz: String, logDirectory: String, forcedCommand: String) async throws
        -> SSHServer
    {
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/sshd") else {
            throw SetupFailure("/usr/sbin/sshd is missing: apt-get install openssh-server (.ci/run installs it)")
        }
        let directory = scratch + "/sshd"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // sshd's privilege separation directory: made by the package's service, which a fresh machine without
        // systemd never started; sshd refuses one that is group or world writable (made under another test's umask).
        try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true)
        guard chmod("/run/sshd", 0o755) == 0 else { throw SetupFailure("chmod 755 /run/sshd: errno \(errno)") }
        for key in ["host_key", "client_key"] {
            let made = try await Subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", directory + "/" + key],
                                                environment: ["PATH": "/usr/bin:/bin"], timeout: 60)
            guard made.succeeded else { throw SetupFailure("ssh-keygen: \(made.tail())") }
        }
        let publicKey = try String(contentsOfFile: directory + "/client_key.pub", encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)
        try "command=\"\(dz) \(forcedCommand)\",restrict \(publicKey)\n"
            .write(toFile: directory + "/authorized_keys", atomically: true, encoding: .utf8)
        chmod(directory + "/authorized_keys", 0o600)
        let port = try FreePort.loopback()
        try """
            Port \(port)
            ListenAddress 127.0.0.1
            HostKey \(directory)/host_key
            AuthorizedKeysFile \(directory)/authorized_keys
            PidFile \(directory)/sshd.pid
            PermitRootLogin prohibit-password
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            UsePAM no
            StrictModes no
            LogLevel VERBOSE

            """.write(toFile: directory + "/sshd_config", atomically: true, encoding: .utf8)
        let process = try DZProcess(label: "sshd", arguments: ["-D", "-e", "-f", directory + "/sshd_config"],
                                    logDirectory: logDirectory, executable: "/usr/sbin/sshd")
        guard await waitUntil(timeout: 30, { FreePort.isListening(port) }) else {
            process.kill()
            throw SetupFailure("sshd did not listen on 127.0.0.1:\(port): \(process.errorTail)")
        }
        let client = ["ssh", "-i", directory + "/client_key", "-p", String(port), "-o", "IdentitiesOnly=yes",
                      "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
                      "-o", "LogLevel=ERROR"]
        return SSHServer(directory: directory, port: port, process: process, client: client)
    }

    func stop() { process.kill() }
}
