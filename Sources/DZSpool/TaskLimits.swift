/// The ranges dz accepts for the times, durations and counts of a task, wherever they come from (a task file's
/// fields, a claim's name, `dz send` and `dz agent` flags, job parameters). Checked where they are read, so that
/// nothing downstream meets a value that makes arithmetic trap or a wait last for ever.
public enum TaskLimits {
    /// `timeout_s`: a millisecond to a week.
    public static let timeoutSeconds: ClosedRange<Double> = 0.001...604_800
    /// `backoff_s`: none to a day (a retry waits at most an hour in any case).
    public static let backoffSeconds: ClosedRange<Double> = 0...86_400
    /// `attempt` and `max_attempts`.
    public static let attempts: ClosedRange<Int> = 1...1_000_000
    /// How far ahead `not_before` (or `dz send --delay`) may put a task: a year. A file whose mtime is further in the
    /// future than this is not taken for a deferral (a clock or a `touch` gone wrong): it is claimed and read.
    public static let maxDeferralSeconds: Double = 366 * 86_400
    /// A claim's lease, in its name and in `dz agent --lease`: a second to a day. A name with a longer lease is
    /// judged as if it said a day, so that no name keeps a task from its reaper for ever.
    public static let leaseSeconds: ClosedRange<Int> = 1...86_400

    /// `value` as text for messages: whole numbers without a fraction.
    public static func text(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
    }
}
