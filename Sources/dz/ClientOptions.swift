import ArgumentParser
import DZClient
import DZSpool
import Foundation

extension SpoolOptions {
    /// The client of this spool, from any host.
    func client() throws -> Client {
        Client(spool: try makeSpool(), environment: ProcessInfo.processInfo.environment)
    }
}
