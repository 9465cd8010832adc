extension Task where Success == Never, Failure == Never {
    /// Suspends for `seconds`: negative or NaN is no wait, and a wait past `UInt64` nanoseconds (584 years) is
    /// clamped, so that a duration from outside can never trap.
    public static func sleep(seconds: Double) async throws {
        try await sleep(nanoseconds: UInt64(saturating: seconds * 1e9))
    }
}
