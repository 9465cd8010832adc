import DZJobs
import DZSpool
import DZSystem

/// Every reader of bytes and names from outside, run on one input, with the properties that must hold for any
/// input: no reader traps, and whatever a reader accepts it must accept again after dz wrote it back out (a retry
/// rewrites a task file, the agent writes a result the coordinator reads, `dz job submit` writes a request the
/// coordinator reads). A property that fails stops the process (`Finding`), which is how libFuzzer, and the
/// corpus replayer, report a finding.
enum ReaderCheck {
    /// What the readers made of the inputs run so far, for the replayer's summary.
    struct Tally {
        var inputs = 0
        var json = 0
        var tasks = 0
        var results = 0
        var requests = 0
        var times = 0
        var durations = 0
        var claimNames = 0
    }

    /// Runs `bytes` through every reader, stopping the process on a broken property.
    static func run(_ bytes: [UInt8], _ tally: inout Tally) {
        tally.inputs += 1
        if let value = try? JSONValue.parse(bytes) {
            tally.json += 1
            checkJSON(value)
            if case .object(let object) = value, case .string(let id)? = object["id"], TaskID.isValid(id) {
                if checkTask(bytes, stem: id, &tally) { tally.tasks += 1 }
            }
        }
        if checkTask(bytes, stem: "fuzz", &tally) { tally.tasks += 1 }
        if let result = try? ResultFile(parsing: bytes) {
            tally.results += 1
            let encoded = result.encoded()
            guard let again = try? ResultFile(parsing: encoded) else {
                Finding.report("a result dz wrote does not read back", encoded)
            }
            guard again.encoded() == encoded else { Finding.report("a result's encoding is not stable", encoded) }
        }
        // Short inputs are also what people type: times in fields, durations in flags, names in cur/.
        if bytes.count <= 80, let text = String(validating: bytes, as: UTF8.self) {
            checkText(text, &tally)
        }
    }

    /// Serialising a parsed value gives a document that parses to the same value, and serialises to itself.
    static func checkJSON(_ value: JSONValue) {
        let text = value.serialized()
        guard let again = try? JSONValue.parse(text) else { Finding.report("serialized JSON does not parse", text) }
        guard same(value, again) else { Finding.report("serialized JSON parses to another value", text) }
        guard again.serialized() == text else { Finding.report("JSON serialisation is not stable", text) }
    }

    /// A task dz accepted is accepted again after dz rewrote it (a retry), and its result and request forms too.
    static func checkTask(_ bytes: [UInt8], stem: String, _ tally: inout Tally) -> Bool {
        guard let task = try? TaskFile(parsing: bytes, stem: stem) else { return false }
        let encoded = task.encoded()
        guard let again = try? TaskFile(parsing: encoded, stem: stem) else {
            Finding.report("a task dz rewrote does not read back", encoded)
        }
        guard again.encoded() == encoded else { Finding.report("a task's encoding is not stable", encoded) }
        var retried = task
        let delay = task.retryDelay()
        guard delay.isFinite, delay >= 0, delay <= 3600 else { Finding.report("retry delay \(delay)", encoded) }
        if task.attempt < task.maxAttempts {
            retried.attempt += 1
            retried.notBefore = Timestamp.now() + delay
            guard (try? TaskFile(parsing: retried.encoded(), stem: stem)) != nil else {
                Finding.report("a retried task does not read back", retried.encoded())
            }
        }
        let now = Timestamp.now()
        _ = task.notBefore.map { $0 > now + TaskLimits.maxDeferralSeconds }
        let result = ResultFile(task: task, queue: .results, status: .error, output: task.args,
                                error: .init(kind: "fuzz", message: task.task), host: fuzzHost,
                                pid: 1, started: task.created, finished: now)
        guard (try? ResultFile(parsing: result.encoded())) != nil else {
            Finding.report("the result of an accepted task does not read back", result.encoded())
        }
        if let request = try? JobRequest(task) {
            tally.requests += 1
            if case .submit(_, _, _, let params, _) = request { _ = JobPolicy.problem(in: params) }
            if let file = try? request.taskFile(host: fuzzHost) {
                let written = file.encoded()
                guard let read = try? TaskFile(parsing: written, stem: file.id.rawValue),
                      let back = try? JobRequest(read)
                else { Finding.report("a job request dz wrote does not read back", written) }
                guard sameRequest(request, back) else {
                    Finding.report("a job request changed on its way through the spool", written)
                }
            }
        }
        return true
    }

    /// Times, durations and claim names: the parsers that read text from fields, flags and `cur/`.
    static func checkText(_ text: String, _ tally: inout Tally) {
        if let time = Timestamp(rfc3339: text) {
            tally.times += 1
            guard Timestamp.accepted.contains(time) else { Finding.report("a time outside the accepted range", Array(text.utf8)) }
            guard let again = Timestamp(rfc3339: time.rfc3339), again.nanoseconds / 1000 == time.nanoseconds / 1000 else {
                Finding.report("a time dz wrote does not read back", Array(time.rfc3339.utf8))
            }
        }
        if let seconds = DurationText.seconds(text) {
            tally.durations += 1
            guard seconds.isFinite else { Finding.report("a duration that is not finite", Array(text.utf8)) }
            _ = Timestamp.now() + seconds
            _ = Int(saturating: seconds)
        }
        for range in [0...3600.0, 0.001...604_800, 1...86_400] { _ = DurationText.problem(text, in: range) }
        if let claim = ClaimName(fileName: text) {
            tally.claimNames += 1
            guard TaskLimits.leaseSeconds.contains(claim.effectiveLeaseSeconds) else {
                Finding.report("a claim's lease outside the range", Array(text.utf8))
            }
            let written = ClaimName(id: claim.id, host: claim.host, pid: claim.pid, leaseSeconds: claim.effectiveLeaseSeconds,
                                    serial: claim.serial)
            guard ClaimName(fileName: written.fileName)?.effectiveLeaseSeconds == claim.effectiveLeaseSeconds else {
                Finding.report("a claim name dz wrote does not read back", Array(written.fileName.utf8))
            }
        }
        _ = CurEntry(fileName: text)
    }

    static let fuzzHost = (try? HostID("fuzz")) ?? .local

    /// The same request, its parameters compared as JSON.
    static func sameRequest(_ a: JobRequest, _ b: JobRequest) -> Bool {
        switch (a, b) {
        case let (.submit(id, kind, project, params, issuedBy), .submit(id2, kind2, project2, params2, issuedBy2)):
            return id == id2 && kind == kind2 && project == project2 && issuedBy == issuedBy2
                && same(.object(params), .object(params2))
        default:
            return a == b
        }
    }

    /// Equal as JSON: numbers by value (dz writes a whole double as an integer).
    static func same(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .double(let y)), (.double(let y), .int(let x)): return Double(x) == y
        case (.array(let x), .array(let y)): return x.count == y.count && zip(x, y).allSatisfy { same($0, $1) }
        case (.object(let x), .object(let y)):
            return x.count == y.count && x.allSatisfy { key, value in y[key].map { same(value, $0) } ?? false }
        default: return a == b
        }
    }
}
