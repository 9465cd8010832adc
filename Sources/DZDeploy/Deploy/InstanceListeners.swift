import DZSystem
import Logging
import Synchronization

/// The listening sockets this process holds for the instances recorded on this host, one per instance record.
///
/// The appserver binds an instance's port itself (as root, before anything of the app runs), hands the socket to
/// gunicorn as descriptor 3 (`--bind fd://3`), and keeps its own copy until the instance's record is removed. So
/// the port never falls free while the instance is recorded: when the master dies nobody else can bind it (a local
/// user who tries gets `EADDRINUSE`), requests wait in the socket's backlog, and the relaunched master serves them
/// on the same socket. An agent that starts again takes the socket back from the instance's live processes
/// (`ListeningSocket.take`, pidfd_getfd), and binds the port anew only when nothing of the instance is left.
///
/// Sockets are kept per process (they are this process's descriptors), by record path, so that several
/// appservers' settings in one process (tests) never mix.
package enum InstanceListeners {
    private static let held = Mutex<[String: ListeningSocket]>([:])

    private static func key(_ records: InstanceDirectory, project: String, instance: String) -> String {
        records.path(project: project, instance: instance)
    }

    /// Holds `socket` (bound by `PortAllocator`) for a new instance.
    package static func hold(_ socket: ListeningSocket, project: String, instance: String, records: InstanceDirectory) {
        held.withLock { $0[key(records, project: project, instance: instance)] = socket }
    }

    /// The socket of `record`'s instance: the one held, else a copy taken from the instance's live processes,
    /// else a new one bound now. Fails when none of those works: another process has the port.
    static func socket(for record: InstanceRecord, records: InstanceDirectory) throws(DeployError) -> ListeningSocket {
        let name = key(records, project: record.project, instance: record.instance)
        if let socket = held.withLock({ $0[name] }) { return socket }
        let candidates = [record.pid] + AppProcess.ofInstance(pidFile: record.pidFile, uid: record.uid).map(\.pid)
        for pid in candidates where pid > 1 {
            if let socket = ListeningSocket.take(from: pid, address: record.address, port: record.port) {
                held.withLock { $0[name] = socket }
                return socket
            }
        }
        do {
            let socket = try ListeningSocket.bind(address: record.address, port: record.port)
            held.withLock { $0[name] = socket }
            return socket
        } catch {
            throw .portTaken("\(endpoint(record)) of instance \(record.instance) is held by another process "
                + "(\(error)): the instance is not relaunched on it; stop it and deploy again")
        }
    }

    /// Whether this process holds the socket of `record`'s instance.
    static func holds(_ record: InstanceRecord, records: InstanceDirectory) -> Bool {
        held.withLock { $0[key(records, project: record.project, instance: record.instance)] != nil }
    }

    /// Closes this process's copy of the instance's socket (its record is being removed).
    package static func release(project: String, instance: String, records: InstanceDirectory) {
        _ = held.withLock { $0.removeValue(forKey: key(records, project: project, instance: instance)) }
    }

    /// Whether `argv` makes gunicorn take its socket as descriptor 3 (records written before this design bind
    /// an address themselves).
    static func takesDescriptor(_ argv: [String]) -> Bool {
        argv.contains("fd://3")
    }

    static func endpoint(_ record: InstanceRecord) -> String {
        record.address.contains(":") ? "[\(record.address)]:\(record.port)" : "\(record.address):\(record.port)"
    }
}
