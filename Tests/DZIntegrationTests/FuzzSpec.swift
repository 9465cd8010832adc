import DZSpool

/// dz-spool(5)'s and dz(1)'s rules for names and fields, written out again from the pages (and, where the pages give
/// no bound, from `TaskLimits`' documented ranges), so that the fuzz test does not take dz's own parsers' word
/// for what is valid.
enum FuzzSpec {
    /// `[A-Za-z0-9._-]`, 1 to `limit` bytes, not starting with a dot (`limit` 128 for task ids).
    static func isName(_ text: String, limit: Int = 128, dotAllowed: Bool = false) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...limit).contains(bytes.count), dotAllowed || bytes[0] != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { byte in
            (65...90).contains(byte) || (97...122).contains(byte) || (48...57).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    static func isTaskID(_ text: String) -> Bool { isName(text) }

    /// A handler name: 1 to 64 of `[A-Za-z0-9._-]` (a leading dot is allowed).
    static func isTaskName(_ text: String) -> Bool { isName(text, limit: 64, dotAllowed: true) }

    /// `[a-z0-9][a-z0-9_.-]*`, at most 64 characters, not a reserved name.
    static func isQueueName(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        let reserved: Set<String> = ["log", "hosts", "cancel", "zoomdb", "tmp", "new", "cur", "done", "failed"]
        guard (1...64).contains(bytes.count), !reserved.contains(text) else { return false }
        func lowerOrDigit(_ byte: UInt8) -> Bool { (97...122).contains(byte) || (48...57).contains(byte) }
        return lowerOrDigit(bytes[0]) && bytes.allSatisfy {
            lowerOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-")
        }
    }

    /// A project id: `[a-z][a-z0-9_]*`, at most 30 characters.
    static func isProjectID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...30).contains(bytes.count), (97...122).contains(bytes[0]) else { return false }
        return bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == UInt8(ascii: "_") }
    }

    /// Whether a name in `new/` is considered at all: it ends in `.json`, is longer than that, and does not start
    /// with a dot; everything else is left alone.
    static func isConsidered(_ name: String) -> Bool {
        name.hasSuffix(".json") && name.utf8.count > 5 && !name.hasPrefix(".")
    }

    /// The ranges of the numeric task fields.
    static let attempts: ClosedRange<Double> = 1...1_000_000
    static let backoff: ClosedRange<Double> = 0...86_400
    static let timeout: ClosedRange<Double> = 0.001...604_800
    /// How far ahead a deferral (a `not_before`, a file's mtime) may lie: 366 days.
    static let maxDeferral: Double = 366 * 86_400
    /// The job kinds of dz(1).
    static let jobKinds: Set<String> = [
        "check_repo", "build", "build_and_deploy", "undeploy", "delete_versions", "rollback", "config", "hostnames",
        "scale", "recover", "manage", "logs", "selftest",
    ]
    /// The task handlers of dz(1) an agent started by `dz agent` has.
    static let handlers: Set<String> = [
        "noop", "echo", "sleep", "fail", "check_repo", "build_bundle", "bundle_upload", "delete_versions",
        "create_database", "drop_database", "placement", "check_placement", "deploy", "post_deploy_hooks", "health_check",
        "stop_instances", "scale_workers", "proxy_update", "stage_static", "unstage_static", "remove_proxy_conf", "managepy",
        "read_logs", "install_cert", "obtain_cert", "renew_certs",
    ]

    /// Whether a task file field holding `value` is valid (nil: the rules leave it open).
    static func isValidTaskField(_ field: String, _ value: FuzzValue, stem: String) -> Bool? {
        if case .time = value.meaning, !["not_before", "created"].contains(field) {
            return isValidTaskField(field, FuzzValue(json: value.json, meaning: .string(decoded(value.json))), stem: stem)
        }
        switch value.meaning {
        case .invalid: return false
        case .deep: return nil
        case .null: return field != "task"
        default: break
        }
        switch field {
        case "id":
            if case .string(let text) = value.meaning { return text == stem && isTaskID(text) }
            return false
        case "task":
            if case .string(let text) = value.meaning { return isTaskName(text) }
            return false
        case "args":
            if case .object = value.meaning { return true }
            return false
        case "job", "step":
            if case .string = value.meaning { return true }
            return false
        case "attempt", "max_attempts":
            return isWhole(value, in: attempts)
        case "backoff_s":
            return isNumber(value, in: backoff)
        case "timeout_s":
            return isNumber(value, in: timeout)
        case "not_before", "created":
            if case .time(let valid) = value.meaning { return valid }
            return false
        case "reply_to":
            if case .string(let text) = value.meaning { return isQueueName(text) }
            return false
        default:
            return true
        }
    }

    /// Whether a result file field holding `value` is valid (dz-spool(5), Completion).
    static func isValidResultField(_ field: String, _ value: FuzzValue) -> Bool? {
        if case .time = value.meaning, !["started", "finished"].contains(field) {
            return isValidResultField(field, FuzzValue(json: value.json, meaning: .string(decoded(value.json))))
        }
        switch value.meaning {
        case .invalid: return false
        case .deep: return nil
        default: break
        }
        switch field {
        case "id":
            if case .string(let text) = value.meaning { return isTaskID(text) }
            return false
        case "status":
            if case .string(let text) = value.meaning { return text == "ok" || text == "error" }
            return false
        case "output", "error":
            if case .null = value.meaning { return true }
            if case .object = value.meaning { return true }
            return false
        case "task", "job", "step":
            if case .null = value.meaning { return true }
            if case .string = value.meaning { return true }
            return false
        case "queue", "host":
            // Informational: a value that is not a queue or host id reads as `results` or `unknown`.
            return true
        case "pid":
            if case .null = value.meaning { return true }
            return isWhole(value, in: 0...2_147_483_647)
        case "attempt":
            if case .null = value.meaning { return true }
            return isWhole(value, in: attempts)
        case "started", "finished":
            if case .null = value.meaning { return true }
            if case .time(let valid) = value.meaning { return valid }
            return false
        default:
            return true
        }
    }

    /// The text of a JSON string literal the generator wrote (only `\\`, `\"`, `\n` and `\u00XX` escapes).
    static func decoded(_ json: String) -> String {
        guard case .string(let text)? = try? JSONValue.parse(Array(json.utf8)) else { return json }
        return text
    }

    static func isNumber(_ value: FuzzValue, in range: ClosedRange<Double>) -> Bool {
        if case .number(let number) = value.meaning { return range.contains(number) }
        return false
    }

    static func isWhole(_ value: FuzzValue, in range: ClosedRange<Double>) -> Bool {
        if case .number(let number) = value.meaning { return number.rounded() == number && range.contains(number) }
        return false
    }

    /// Why a job parameter set has an unusable `timeout_s`, `max_attempts` or `backoff_s` (dz(1): each a number,
    /// or a string that spells one, within its range; max_attempts whole, 1 to 1000): the key, or nil.
    static func policyProblem(_ params: [String: JSONValue]) -> String? {
        let ranges: [(String, ClosedRange<Double>, Bool)] = [
            ("timeout_s", timeout, false), ("backoff_s", backoff, false), ("max_attempts", 1...1000, true),
        ]
        for (key, range, whole) in ranges {
            guard let value = params[key], value != .null else { continue }
            let number: Double?
            switch value {
            case .int(let whole): number = Double(whole)
            case .double(let fraction): number = fraction
            case .string(let text): number = Double(text)
            default: number = nil
            }
            guard let number, number.isFinite, range.contains(number), !whole || number.rounded() == number else {
                return key
            }
        }
        return nil
    }
}
