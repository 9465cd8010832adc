import DZSystem
/// Chooses the port of a new instance: the first port of the range that no instance record holds and that can be
/// bound on the address now. Callers hold the `ports` lock of `InstanceDirectory` from the choice until the new
/// record is saved, so two deploys on one host never take the same port.
enum PortAllocator {
    static func firstFree(address: String, in range: ClosedRange<Int>, excluding taken: Set<Int>) -> Int? {
        for port in range where !taken.contains(port) {
            guard let socket = try? TCPSocket(address: address, port: port) else { return nil }
            if socket.canBind() { return port }
        }
        return nil
    }
}
