#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import SystemPackage

/// Calls `body` until it stops failing with `EINTR`; the one place dz retries interrupted system calls.
///
/// `body` returns the C function's result; a negative result is read as failure and turned into the `Errno` it set.
@inline(__always)
internal func retryingInterrupts<T: SignedInteger>(_ body: () -> T) -> Result<T, Errno> {
    while true {
        let result = body()
        if result >= 0 { return .success(result) }
        let code = errno
        if code == EINTR { continue }
        return .failure(Errno(rawValue: code))
    }
}

/// Calls `body` once: for calls that must not be repeated blindly (`close`, `rename` on NFS).
@inline(__always)
internal func once<T: SignedInteger>(_ body: () -> T) -> Result<T, Errno> {
    let result = body()
    if result >= 0 { return .success(result) }
    return .failure(Errno(rawValue: errno))
}
