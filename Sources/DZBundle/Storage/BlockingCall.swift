import Foundation

/// Runs blocking work (a curl transfer, a large file copy) on a thread of its own, so that it never occupies one
/// of the few threads of Swift's cooperative pool.
package enum BlockingCall {
    /// Calls `body` on a new thread and returns (or throws) what it did.
    ///
    /// Generic over the error type so that a closure with typed throws is passed as is, never through a
    /// conversion thunk.
    package static func run<T: Sendable, E: Error>(_ body: @escaping @Sendable () throws(E) -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            Thread.detachNewThread {
                do {
                    continuation.resume(returning: try body())
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
