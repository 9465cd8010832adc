import DZSystem

/// The lock that makes proxy changes on one host happen one at a time: an exclusive `flock` on
/// `<sites>/.dz-proxy.lock`, so that two updates never interleave their write, `nginx -t` and restore (another's
/// broken file could fail this one's test, or be restored over it). A hidden name: nginx's `*` and `*.conf`
/// includes skip it.
///
/// `FileLock` never waits, and a lock's release is no event one can wait on without blocking a thread: the wait
/// is a poll every 50 to 200 ms, up to a deadline.
package enum SitesLock {
    static let fileName = ".dz-proxy.lock"

    /// Takes the lock of `directory` (created if missing), waiting up to `timeout` seconds for another holder.
    package static func acquire(directory: String, timeout: Double) async throws(ProxyError) -> FileLock {
        do throws(Errno) {
            try FileSystem.makeDirectories(directory, mode: 0o755)
        } catch {
            throw .filesystem(operation: "mkdir", path: directory, error)
        }
        let path = directory + "/" + fileName
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .milliseconds(Int64(timeout * 1000)))
        var pause = Duration.milliseconds(50)
        while true {
            do throws(Errno) {
                return try FileLock(path: path)
            } catch .resourceTemporarilyUnavailable {
                guard clock.now < deadline else { throw .busy(lock: path, seconds: timeout) }
            } catch {
                throw .filesystem(operation: "lock", path: path, error)
            }
            do {
                try await Task.sleep(for: pause)
            } catch {
                throw .cancelled("waiting for \(path)")
            }
            pause = min(pause * 2, .milliseconds(200))
        }
    }
}
