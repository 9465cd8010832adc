import DZSystem

/// Chooses the port of a new instance and binds it: the first port of the range that no instance record holds and
/// that this process can bind and listen on now. The socket it returns is the instance's for as long as it is
/// recorded (`InstanceListeners`). Callers hold the `ports` lock of `InstanceDirectory` from the choice until the
/// new record is saved, so two deploys on one host never take the same port.
package enum PortAllocator {
    package static func firstFree(address: String, in range: ClosedRange<Int>, excluding taken: Set<Int>)
        -> (port: Int, socket: ListeningSocket)?
    {
        for port in range where !taken.contains(port) {
            do {
                return (port, try ListeningSocket.bind(address: address, port: port))
            } catch .addressInUse {
                continue
            } catch {
                return nil
            }
        }
        return nil
    }
}
