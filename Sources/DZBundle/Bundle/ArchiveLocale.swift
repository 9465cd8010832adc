#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The locale libarchive's calls run under.
///
/// libarchive converts names between the UTF-8 of pax headers and "the current locale's" multibyte form, which
/// is what `archive_entry_pathname` returns and `archive_write_disk` passes to the kernel. Under the C locale a
/// non-ASCII name turns into `?`s, and libarchive 3.6.2's pax writer dereferences a null pointer on one. Swift
/// strings are UTF-8, so every archive operation runs with the calling thread's locale set to C.UTF-8, through
/// `uselocale`, which (unlike `setlocale`) changes only the calling thread.
enum ArchiveLocale {
    private struct Handle: @unchecked Sendable {
        let locale: locale_t?
    }

    /// Made once and never freed, as `newlocale` objects meant for the life of the process are. Only the
    /// character type category matters (`LC_CTYPE_MASK`, a macro Swift does not import, is `1 << LC_CTYPE`).
    private static let utf8Locale = Handle(locale: newlocale(Int32(1) << LC_CTYPE, "C.UTF-8", nil))

    /// Runs `body` (which must not suspend: the locale belongs to the thread) with this thread's locale set to
    /// C.UTF-8, then restores the thread's previous locale. Without C.UTF-8 on the system, runs `body` as it is.
    ///
    /// The corresponding C functions are `newlocale` and `uselocale`.
    static func utf8<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
        guard let locale = utf8Locale.locale, let previous = uselocale(locale) else { return try body() }
        defer { uselocale(previous) }
        return try body()
    }
}
