#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A pause of the calling thread, for the few waits in code that is not async (opening a database another
/// process is creating).
public enum ThreadPause {
    /// Blocks the calling thread for `seconds` (negative or NaN: no wait; clamped to a day); a signal does not cut
    /// it short.
    ///
    /// The corresponding C function is `nanosleep`.
    public static func sleep(seconds: Double) {
        guard seconds > 0 else { return }
        let clamped = min(seconds, 86_400)
        var request = timespec(tv_sec: Int(clamped), tv_nsec: Int((clamped - clamped.rounded(.down)) * 1e9))
        var remaining = timespec()
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }
}
