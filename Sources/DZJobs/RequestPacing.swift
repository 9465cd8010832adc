import DZSystem

/// How fast the coordinator's loop starts new work (the requests of `jobs/`: submissions, cancellations,
/// configuration changes) beside the results of the jobs that run.
///
/// A result waits about as long as the results ahead of it take (the steps in flight over the rate the loop takes
/// them in): start every submitted job of a burst at once and each step's next step waits for every other job's.
/// So the loop starts new jobs while it keeps up, and holds them back while it is behind: when the results of its
/// last batch waited longer than `target` from their arrival to their next steps dropped (until a batch is within
/// it again, or no result has come for `target`), and while the steps in flight (dispatched, no result yet) are
/// as many as its window. The window starts at `largestWindow`, is halved by each late batch (down to
/// `smallestWindow`) and grows by one with each batch in time: so under a burst of short steps it settles where
/// results stay in time, and agents that stall for a while do not get every job of the burst started meanwhile
/// (their steps' results would all arrive at once), while long-running steps, whose results come one by one in
/// time, keep it wide open. Held back, it still takes in one request every `floor` seconds, so that a stream of
/// results never starves submissions and cancellations. The rest of a burst waits in `jobs/new/`.
struct RequestPacing: Sendable {
    /// The longest a result should wait, from its arrival to its next steps dropped.
    static let target = 0.010
    /// While behind, one request at least this often.
    static let floor = 0.1
    /// How long a turn takes in requests, while it keeps up, before it looks for results again.
    static let budget = 0.005
    static let largestWindow = 512
    static let smallestWindow = 8

    enum Allowance: Sendable, Equatable {
        /// None this turn.
        case none
        /// One.
        case one
        /// As many as `budget` allows, up to this many, while no result waits.
        case upTo(Int)
    }

    /// The most steps in flight under which new jobs start.
    private(set) var window = Self.largestWindow

    /// Whether the last results batch was late, and when it was taken in.
    private(set) var behind = false
    private var lastResults = Timestamp.distantPast
    private var lastRequest = Timestamp.distantPast

    /// A batch of results was taken in: the oldest arrived `delay` seconds before its next steps were dropped.
    mutating func resultsTakenIn(delay: Double, at now: Timestamp) {
        behind = delay > Self.target
        window = behind ? max(Self.smallestWindow, window / 2) : min(Self.largestWindow, window + 1)
        lastResults = now
    }

    /// A request was taken in.
    mutating func requestTakenIn(at now: Timestamp) { lastRequest = now }

    /// What this turn may take in of the requests that wait, with `inFlight` steps dispatched and not answered.
    func allowance(at now: Timestamp, inFlight: Int) -> Allowance {
        let late = behind && now - lastResults < Self.target
        if !late, inFlight < window { return .upTo(window - inFlight) }
        return now - lastRequest >= Self.floor ? .one : .none
    }

    /// After an allowance of `.none` at `now`: when time alone may change it (a late batch no longer counts, or
    /// the floor's request is due). A result taken in before then may change it sooner.
    func nextChance(after now: Timestamp) -> Timestamp {
        let floorDue = lastRequest + Self.floor
        guard behind, case let lateEnds = lastResults + Self.target, lateEnds > now else { return floorDue }
        return min(lateEnds, floorDue)
    }
}
