import Foundation

/// The files of one fuzz run, drawn from a seed: task files for the agent's queue, results and job requests for the
/// coordinator's, each with one field (or the bytes) fuzzed; every name shape and file kind; modification times
/// far ahead and far back. The same seed gives the same files (times relative to `now` aside).
///
/// The generator keeps every run finite: a task that may fail and be retried gets few attempts and a short backoff
/// unless the fuzzed field is its attempts or backoff, in which case it is one that cannot fail (`noop`, `echo`);
/// sleeps are short unless the fuzzed field is the sleep itself, which then gets one attempt; at most a dozen
/// valid `selftest` jobs are submitted.
struct FuzzCorpus {
    private var random: FuzzRandom
    let now: Double
    private(set) var files: [FuzzFile] = []
    private var selftests = 0
    static let maxSelftests = 12

    init(seed: UInt64, now: Double) {
        random = FuzzRandom(seed: seed)
        self.now = now
    }

    /// A JSON object as written: members in order, keys escaped.
    struct Object {
        var members: [(key: String, value: FuzzValue)] = []

        subscript(key: String) -> FuzzValue? {
            get { members.first { $0.key == key }?.value }
            set {
                members.removeAll { $0.key == key }
                if let newValue { members.append((key, newValue)) }
            }
        }

        var json: String { "{" + members.map { FuzzValue.quoted($0.key) + ": " + $0.value.json }.joined(separator: ", ") + "}" }
        var value: FuzzValue { FuzzValue(json: json, meaning: .object) }
        var bytes: [UInt8] { Array(json.utf8) }
    }

    static func object(_ json: String) -> FuzzValue { FuzzValue(json: json, meaning: .object) }

    func rfc(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }

    static func pad(_ number: Int) -> String { String(format: "%04d", number) }

    // MARK: the whole run

    /// Content files for each inbox, then every name shape, file kind and modification time; about a third of them
    /// go in the second wave.
    mutating func generate(tasks: Int, results: Int, requests: Int) {
        for number in 0..<tasks { add(task(number)) }
        for number in 0..<results { add(result(number)) }
        for number in 0..<requests { add(request(number)) }
        for inbox in FuzzFile.Inbox.allCases {
            for file in nameShapes(inbox) + kinds(inbox) + modificationTimes(inbox) { add(file) }
        }
    }

    private mutating func add(_ file: FuzzFile) {
        var file = file
        file.wave = random.chance(0.35) ? 2 : 1
        files.append(file)
    }

    // MARK: task files

    static let taskTargets = [
        "id", "task", "args", "job", "step", "attempt", "max_attempts", "backoff_s", "timeout_s", "not_before",
        "created", "reply_to", "unknown", "handler-arg", "handler-arg", "mutation", "mutation", "mutation",
    ]
    static let unknownKeys = ["extra", "", "\u{0}", "Task", "task ", String(repeating: "k", count: 300), "\u{e9}", "id\u{0}"]

    mutating func task(_ number: Int) -> FuzzFile {
        let stem = "t" + Self.pad(number)
        let target = random.pick(Self.taskTargets)
        var handler = random.pick(["noop", "noop", "echo", "echo", "fail", "sleep"])
        if ["attempt", "max_attempts", "backoff_s", "timeout_s"].contains(target) { handler = random.pick(["noop", "echo"]) }
        var object = Object()
        object["task"] = .string(handler)
        var retryable = false
        switch handler {
        case "echo":
            object["args"] = Self.object(#"{"greeting": "hi", "list": [1, 2.5, null, true, "x"], "nested": {"a": {"b": "c"}}}"#)
        case "fail":
            retryable = random.chance(0.3)
            object["args"] = Self.object("{\"message\": \"boom\", \"retryable\": \(retryable)}")
        case "sleep":
            object["args"] = Self.object(#"{"seconds": 0.01}"#)
        default:
            if random.chance(0.5) { object["args"] = Self.object("{}") }
        }
        if random.chance(0.3) { object["id"] = .string(stem) }
        if random.chance(0.3) {
            object["job"] = .string("fuzzjob")
            object["step"] = .string("s1")
        }
        if random.chance(0.2) { object["attempt"] = .number("1") }
        if retryable || target == "timeout_s" || random.chance(0.4) {
            object["max_attempts"] = .number("2")
            object["backoff_s"] = .number("0.05")
        }
        if random.chance(0.4) { object["created"] = .time(rfc(now - 60), true) }
        if random.chance(0.4) { object["reply_to"] = .string(random.pick(["results", "fuzzreply"])) }
        if random.chance(0.15), handler != "sleep" { object["timeout_s"] = .number("30") }

        var label = target
        var specValid: Bool?
        switch target {
        case "mutation":
            let (bytes, what) = mutate(object.bytes)
            return FuzzFile(inbox: .tasks, name: Array((stem + ".json").utf8), shape: .bytes(bytes), mtime: nil,
                            label: "\(handler) \(what)", field: "bytes", specValid: nil)
        case "unknown":
            let key = random.pick(Self.unknownKeys)
            let value = anyValue()
            object[key] = value
            label = "unknown \(key.debugDescription.prefix(20))=\(value)"
            specValid = FuzzSpec.isValidTaskField("unknown", value, stem: stem)
        case "handler-arg":
            let (argument, value) = handlerArgument(handler, &object)
            label = "\(handler) args.\(argument)=\(value)"
            if argument == "(all)" {
                specValid = FuzzSpec.isValidTaskField("args", value, stem: stem)
            } else if case .deep = value.meaning {
                specValid = nil
            } else {
                specValid = FuzzSpec.isValidTaskField("unknown", value, stem: stem)
            }
        default:
            let value = taskFieldValue(target, stem: stem)
            object[target] = value
            label = "\(handler) \(target)=\(value)"
            specValid = FuzzSpec.isValidTaskField(target, value, stem: stem)
        }
        if random.chance(0.02) {
            object["pad"] = .string(String(repeating: "p", count: 1000 + random.below(900_000)))
            label += " padded"
        }
        return FuzzFile(inbox: .tasks, name: Array((stem + ".json").utf8), shape: .bytes(object.bytes), mtime: nil,
                        label: label, field: target == "handler-arg" ? "args (\(handler))" : target, specValid: specValid)
    }

    /// Fuzzes one argument of the task's handler: echo's output is its arguments, fail's message and retryable,
    /// sleep's seconds (one attempt, so that a long sleep ends in a timeout, not in retries), noop's whole args.
    private mutating func handlerArgument(_ handler: String, _ object: inout Object) -> (String, FuzzValue) {
        switch handler {
        case "echo":
            let value = anyValue()
            object["args"] = FuzzValue(json: "{\"v\": \(value.json)}", meaning: .object)
            return ("v", value)
        case "fail":
            object["max_attempts"] = .number("2")
            object["backoff_s"] = .number("0.05")
            if random.chance(0.5) {
                let value = random.chance(0.5) ? anyValue() : random.pick(FuzzValues.strings)
                object["args"] = FuzzValue(json: "{\"message\": \(value.json)}", meaning: .object)
                return ("message", value)
            }
            let value = random.pick([.string("true"), .string("1"), .string("yes"), .string("no"), .string("TRUE"),
                                     FuzzValue(json: "true", meaning: .bool(true)), .number("1")] + [anyValue()])
            object["args"] = FuzzValue(json: "{\"message\": \"boom\", \"retryable\": \(value.json)}", meaning: .object)
            return ("retryable", value)
        case "sleep":
            object["max_attempts"] = .number("1")
            object["timeout_s"] = nil
            let value = random.chance(0.7)
                ? random.pick(FuzzValues.numbers + [.string("0.01"), .string("1e308"), .string("nan"), .string("-1"),
                                                    .string("86400"), .string("inf"), .string(" 1"), .string("0x10")])
                : anyValue()
            object["args"] = FuzzValue(json: "{\"seconds\": \(value.json)}", meaning: .object)
            return ("seconds", value)
        default:
            let value = anyValue()
            object["args"] = value
            return ("(all)", value)
        }
    }

    private mutating func taskFieldValue(_ field: String, stem: String) -> FuzzValue {
        if random.chance(0.25) { return anyValue() }
        switch field {
        case "id":
            return random.pick([.string(stem), .string("other-id"), .string(""), .string(stem + "@h"),
                                .string(String(repeating: "i", count: 129)), .string("../" + stem), .string("." + stem),
                                .string(stem + "\u{0}"), .string(stem.uppercased())])
        case "task":
            return random.pick([.string("noop"), .string("echo"), .string("NOOP"), .string("no-such-task"), .string(""),
                                .string(String(repeating: "a", count: 64)), .string(String(repeating: "a", count: 65)),
                                .string("noop\u{0}"), .string("no op"), .string("n\u{f6}\u{f6}p"), .string(".hidden"),
                                .string("noop\n")])
        case "args", "job", "step":
            return anyValue()
        case "attempt", "max_attempts", "backoff_s", "timeout_s":
            return random.pick(FuzzValues.numbers + FuzzValues.badNumbers + [.string("1"), .string("1e308"), .null])
        case "not_before", "created":
            return random.pick(FuzzValues.times(now: now))
        case "reply_to":
            return random.pick([.string("results"), .string("fuzzreply"), .string("build"), .string("jobs"), .string(""),
                                .string("Results"), .string("a/b"), .string(".."), .string("log"), .string("results "),
                                .string(String(repeating: "r", count: 64)), .string(String(repeating: "r", count: 65))])
        default:
            return anyValue()
        }
    }

    mutating func anyValue() -> FuzzValue {
        random.chance(0.15) ? random.pick(FuzzValues.times(now: now)) : random.pick(FuzzValues.all)
    }

    // MARK: byte mutations

    static let interestingBytes: [UInt8] = Array("\"{}[],:\\0123456789e-.+ \ntfn".utf8) + [0x00, 0xFF, 0xC3, 0x80, 0x7F, 0x1F]

    /// One random change to a valid file's bytes: a truncation, a byte changed, removed or added, a key repeated,
    /// a byte order mark, garbage after the object, the object in an array.
    mutating func mutate(_ bytes: [UInt8]) -> ([UInt8], String) {
        var bytes = bytes
        switch random.below(9) {
        case 0:
            let cut = random.below(bytes.count)
            return (Array(bytes[..<cut]), "truncated at \(cut)")
        case 1, 2:
            let at = random.below(bytes.count)
            let byte = random.chance(0.7) ? random.pick(Self.interestingBytes) : UInt8(truncatingIfNeeded: random.next())
            bytes[at] = byte
            return (bytes, "byte \(at) set to 0x\(String(byte, radix: 16))")
        case 3:
            let at = random.below(bytes.count)
            bytes.remove(at: at)
            return (bytes, "byte \(at) removed")
        case 4:
            let at = random.below(bytes.count + 1)
            let byte = random.pick(Self.interestingBytes)
            bytes.insert(byte, at: at)
            return (bytes, "0x\(String(byte, radix: 16)) inserted at \(at)")
        case 5:
            let key = random.pick(["task", "id", "args", "attempt", "not_before", "reply_to", "status", "kind"])
            let value = anyValue()
            let extra = Array(", \(FuzzValue.quoted(key)): \(value.json)}".utf8)
            return (Array(bytes.dropLast()) + extra, "\(key) repeated as \(value)")
        case 6:
            return ([0xEF, 0xBB, 0xBF] + bytes, "byte order mark")
        case 7:
            let garbage = random.pick(["x", "}", "{}", "\u{0}", " // c", "\n\n", ",", "]"])
            return (bytes + Array(garbage.utf8), "\(garbage.debugDescription) appended")
        default:
            return (Array("[".utf8) + bytes + Array("]".utf8), "in an array")
        }
    }

    // MARK: results

    static let resultTargets = [
        "id", "task", "queue", "job", "step", "status", "output", "error", "host", "pid", "attempt", "started",
        "finished", "unknown", "mutation", "mutation",
    ]

    /// A result file: a valid result with one field fuzzed; `id` names a real step's task when given (the
    /// coordinator then applies it to that step).
    mutating func result(_ number: Int, id: String? = nil) -> FuzzFile {
        let stem = (id == nil ? "r" : "rs") + Self.pad(number)
        var object = Object()
        object["id"] = .string(id ?? stem)
        object["task"] = .string("noop")
        object["queue"] = .string("build")
        object["job"] = id == nil ? .null : .string(String(id!.split(separator: ".").first ?? ""))
        object["step"] = .null
        let ok = random.chance(0.6)
        object["status"] = .string(ok ? "ok" : "error")
        object["output"] = Self.object("{}")
        object["error"] = ok ? .null : Self.object(#"{"kind": "failed", "message": "forged"}"#)
        object["host"] = .string("h1")
        object["pid"] = .number("4242")
        object["attempt"] = .number("1")
        object["started"] = .time(rfc(now - 2), true)
        object["finished"] = .time(rfc(now - 1), true)
        var target = random.pick(Self.resultTargets)
        if id != nil, target == "id" { target = "finished" }
        var label = target
        var specValid: Bool?
        switch target {
        case "mutation":
            let (bytes, what) = mutate(object.bytes)
            return FuzzFile(inbox: .results, name: Array((stem + ".json").utf8), shape: .bytes(bytes), mtime: nil,
                            label: what, field: "bytes", specValid: nil)
        case "unknown":
            let key = random.pick(Self.unknownKeys)
            let value = anyValue()
            object[key] = value
            label = "unknown \(key.debugDescription.prefix(20))=\(value)"
            specValid = FuzzSpec.isValidResultField("unknown", value)
        default:
            let value = resultFieldValue(target, stem: stem)
            object[target] = value
            label = "\(target)=\(value)"
            specValid = FuzzSpec.isValidResultField(target, value)
        }
        return FuzzFile(inbox: .results, name: Array((stem + ".json").utf8), shape: .bytes(object.bytes), mtime: nil,
                        label: (id.map { "step \($0): " } ?? "") + label, field: target, specValid: specValid)
    }

    private mutating func resultFieldValue(_ field: String, stem: String) -> FuzzValue {
        if random.chance(0.3) { return anyValue() }
        switch field {
        case "id":
            return random.pick([.string(stem), .string(""), .string("a@b"), .string(String(repeating: "i", count: 129)),
                                .string(".x"), .string("../x")])
        case "status":
            return random.pick([.string("ok"), .string("error"), .string("OK"), .string(""), .string("okay"),
                                .string("ok\u{0}")])
        case "output":
            return random.pick([Self.object("{}"), Self.object(#"{"k": [1, {"x": null}], "big": 1e308}"#),
                                FuzzValue(json: "{\"d\": \(FuzzValue.deep(200).json)}", meaning: .object)])
        case "error":
            return random.pick([Self.object(#"{"kind": "failed", "message": "m"}"#), Self.object("{}"),
                                Self.object(#"{"kind": 1, "message": ["x"]}"#), .null])
        case "host":
            return random.pick([.string("h1"), .string(""), .string("bad host"), .string(String(repeating: "h", count: 65))])
        case "pid", "attempt":
            return random.pick(FuzzValues.numbers + FuzzValues.badNumbers)
        case "started", "finished":
            return random.pick(FuzzValues.times(now: now))
        default:
            return random.pick(FuzzValues.strings)
        }
    }

    /// Results for the tasks of real steps (the coordinator applies the first valid one to its step and ignores
    /// the rest).
    mutating func forgedResults(for ids: [String], count: Int) -> [FuzzFile] {
        guard !ids.isEmpty else { return [] }
        return (0..<count).map { number in
            var file = result(number, id: ids[number % ids.count])
            file.wave = 2
            return file
        }
    }

    // MARK: job requests

    static let requestTargets = [
        "id", "task", "args", "attempt", "max_attempts", "not_before", "created", "reply_to", "unknown", "mutation",
        "kind", "kind", "project", "params", "param:timeout_s", "param:max_attempts", "param:backoff_s", "param:slow",
        "param:fail", "issued_by",
    ]

    /// A `submit_job` request with one field fuzzed: a field of its task file, or of the job (kind, project,
    /// parameters).
    mutating func request(_ number: Int) -> FuzzFile {
        let stem = "j" + Self.pad(number)
        let target = random.pick(Self.requestTargets)
        var kind = FuzzValue.string("selftest")
        var project: FuzzValue?
        var params = Object()
        if random.chance(0.3) { params["appservers"] = .string("app1") }
        var issuedBy: FuzzValue?
        var label = target
        switch target {
        case "kind":
            kind = random.chance(0.7)
                ? random.pick([.string("selftest"), .string(""), .string("SELFTEST"), .string("no_such_kind"),
                               .string("selftest\u{0}"), .string("selftest "), .string("../selftest")])
                : anyValue()
            label = "kind=\(kind)"
        case "project":
            project = random.chance(0.7)
                ? random.pick([.string("hello"), .string(""), .string("Hello"), .string("1abc"),
                               .string(String(repeating: "p", count: 31)), .string("a-b"), .string("p\u{0}")])
                : anyValue()
            label = "project=\(project!)"
        case "params":
            let value = anyValue()
            label = "params=\(value)"
            params = Object()
            issuedBy = nil
            return makeRequest(stem, kind: kind, project: nil, paramsValue: value, issuedBy: nil, label: label, field: target)
        case "issued_by":
            issuedBy = anyValue()
            label = "issued_by=\(issuedBy!)"
        case let key where key.hasPrefix("param:"):
            let name = String(key.dropFirst(6))
            let value: FuzzValue
            switch name {
            case "slow":
                let seconds = random.pick(["0.01", "-1", "nan", "1e308", "inf", "abc", "86401", "", "1e-300"])
                value = .string("checkout:" + seconds)
            case "fail":
                value = random.pick([.string("checkout"), .string("bundle"), .string("upload"), .string("nosuchstep"),
                                     .string("")])
            default:
                value = random.pick(FuzzValues.numbers + [
                    .string("1e10"), .string("nan"), .string("-1"), .string("inf"), .string("1e300"), .string("0.001"),
                    .string("1000"), .string("1001"), .string("604800"), .string("1e-300"), .string(""), .string("0x10"),
                ] + FuzzValues.others)
            }
            params[name] = value
            label = "params.\(name)=\(value)"
        default:
            break
        }
        if case .string("selftest") = kind.meaning {
            selftests += 1
            if selftests > Self.maxSelftests, target != "kind" {
                kind = .string("no_such_kind")
                label += " (kind no_such_kind)"
            }
        }
        var file = makeRequest(stem, kind: kind, project: project, paramsValue: params.value, issuedBy: issuedBy,
                               label: label, field: target)
        if ["id", "task", "args", "attempt", "max_attempts", "not_before", "created", "reply_to", "unknown",
            "mutation"].contains(target)
        {
            file = fuzzTaskField(of: file, target, stem: stem)
        }
        return file
    }

    private func requestObject(kind: FuzzValue, project: FuzzValue?, paramsValue: FuzzValue, issuedBy: FuzzValue?,
                               stem: String) -> Object
    {
        var args = Object()
        args["kind"] = kind
        if let project { args["project"] = project }
        args["params"] = paramsValue
        if let issuedBy { args["issued_by"] = issuedBy }
        var object = Object()
        object["id"] = .string(stem)
        object["task"] = .string("submit_job")
        object["args"] = args.value
        object["job"] = .string(stem)
        object["max_attempts"] = .number("1")
        object["created"] = .time(rfc(now - 30), true)
        return object
    }

    private func makeRequest(_ stem: String, kind: FuzzValue, project: FuzzValue?, paramsValue: FuzzValue,
                             issuedBy: FuzzValue?, label: String, field: String) -> FuzzFile
    {
        let object = requestObject(kind: kind, project: project, paramsValue: paramsValue, issuedBy: issuedBy, stem: stem)
        // Fields of the job are under args: kind, project, params (params.timeout_s, ...), issued_by.
        let jobField = ["kind", "project", "params", "issued_by"].contains(field) || field.hasPrefix("param:")
        let shown = jobField ? "args." + field.replacingOccurrences(of: "param:", with: "params.") : field
        return FuzzFile(inbox: .requests, name: Array((stem + ".json").utf8), shape: .bytes(object.bytes), mtime: nil,
                        label: label, field: shown, specValid: nil)
    }

    /// The request with one of its task file's fields fuzzed instead.
    private mutating func fuzzTaskField(of file: FuzzFile, _ field: String, stem: String) -> FuzzFile {
        var object = requestObject(kind: .string("no_such_kind"), project: nil, paramsValue: Self.object("{}"),
                                   issuedBy: nil, stem: stem)
        if field == "mutation" {
            let (bytes, what) = mutate(object.bytes)
            return FuzzFile(inbox: .requests, name: file.name, shape: .bytes(bytes), mtime: nil, label: what, field: "bytes",
                            specValid: nil)
        }
        let value: FuzzValue
        var key = field
        if field == "unknown" {
            key = random.pick(Self.unknownKeys)
            value = anyValue()
        } else if field == "task" {
            value = random.chance(0.7)
                ? random.pick([.string("submit_job"), .string("cancel_job"), .string("noop"), .string("SUBMIT_JOB"), .string("")])
                : anyValue()
        } else {
            value = taskFieldValue(field, stem: stem)
        }
        object[key] = value
        return FuzzFile(inbox: .requests, name: file.name, shape: .bytes(object.bytes), mtime: nil,
                        label: "\(key.debugDescription.prefix(20))=\(value)", field: field,
                        specValid: FuzzSpec.isValidTaskField(field == "unknown" ? "unknown" : key, value, stem: stem))
    }

    /// `cancel_job` requests for the second wave: for jobs submitted in the first (`known`), and for ids of jobs
    /// that do not exist or are not ids.
    mutating func cancels(of known: [String], count: Int) -> [FuzzFile] {
        (0..<count).map { number in
            let stem = "jc" + Self.pad(number)
            let job: FuzzValue = !known.isEmpty && random.chance(0.5)
                ? .string(random.pick(known))
                : random.pick([.string("J-none"), .string(""), .string("a@b"), .number("1"), .null,
                               .string(String(repeating: "j", count: 129))])
            let reason = random.chance(0.8) ? FuzzValue.string("fuzz") : anyValue()
            let json = "{\"task\": \"cancel_job\", \"args\": {\"job\": \(job.json), \"reason\": \(reason.json)}}"
            return FuzzFile(inbox: .requests, name: Array((stem + ".json").utf8), shape: .bytes(Array(json.utf8)),
                            mtime: nil, label: "cancel job=\(job) reason=\(reason)", field: "cancel_job", specValid: nil,
                            wave: 2)
        }
    }

    // MARK: names, kinds, times

    /// The smallest valid file of the inbox, its id taken from its name (results name theirs: `shape`).
    static func minimal(_ inbox: FuzzFile.Inbox) -> [UInt8] {
        switch inbox {
        case .tasks: Array(#"{"task": "noop"}"#.utf8)
        case .results: Array(#"{"id": "shape", "status": "ok"}"#.utf8)
        case .requests: Array(#"{"task": "cancel_job", "args": {"job": "J-none"}}"#.utf8)
        }
    }

    /// Every shape of name: ignored ones (dotfiles, no `.json`), invalid ids (spaces, `@`, control characters,
    /// `~`, non-ASCII, too long), names that are not UTF-8, and the longest valid ones.
    func nameShapes(_ inbox: FuzzFile.Inbox) -> [FuzzFile] {
        let prefix = "s" + inbox.letter
        var names: [[UInt8]] = [
            ".json", ".\(prefix)1.json", ".nfs0001\(prefix)", "\(prefix)2.txt", "\(prefix)3", "\(prefix)4.JSON",
            "\(prefix)5.json.tmp", "\(prefix)6.json~", "\(prefix) 7.json", "\(prefix)@8.json",
            "\(prefix)9@h1@1@30@1.json", "\(prefix)\n10.json", "\(prefix)\r11.json", "\(prefix)\t12.json",
            "\(prefix)\u{1}13.json", "-\(prefix)14.json", "\(prefix)~15.json", "\(prefix)\\16.json",
            "\(prefix)\"17.json", "\(prefix)$(x)18.json", "\(prefix)\u{e9}19.json", "\(prefix)\u{200B}20.json",
            "\(prefix)..json", "\(prefix)21.json.json", "\(prefix)/..json",
        ].compactMap { $0.contains("/") ? nil : Array($0.utf8) }
        for length in [128, 129, 200, 240, 242, 243, 249, 250] {
            names.append(Array((prefix + "L" + String(repeating: "x", count: length - prefix.count - 1) + ".json").utf8))
        }
        names += [
            Array(prefix.utf8) + [0xFF, 0xFE] + Array(".json".utf8),
            [0xC3, 0x28] + Array((prefix + ".json").utf8),
            Array(prefix.utf8) + [0xC0, 0xAF] + Array(".json".utf8),
            Array(prefix.utf8) + [0xED, 0xA0, 0x80] + Array(".json".utf8),
            Array(prefix.utf8) + [UInt8](repeating: 0xFF, count: 246) + Array(".json".utf8),
        ]
        return names.map { name in
            FuzzFile(inbox: inbox, name: name, shape: .bytes(Self.minimal(inbox)), mtime: nil, label: "name shape",
                     field: "name", specValid: true)
        }
    }

    /// Every kind of file: a FIFO, a directory, empty and blank files, over and at 1 MiB, symbolic links to a
    /// device, outside the spool, to a missing file, in a loop, and inside the spool to each kind (see
    /// `FuzzTests.makeLinkTargets`).
    func kinds(_ inbox: FuzzFile.Inbox) -> [FuzzFile] {
        let prefix = "k" + inbox.letter
        let minimal = Self.minimal(inbox)
        func sized(_ size: Int) -> [UInt8] {
            let head = Array(minimal.dropLast()) + Array(", \"pad\": \"".utf8)
            let tail = Array("\"}".utf8)
            return head + [UInt8](repeating: UInt8(ascii: "p"), count: size - head.count - tail.count) + tail
        }
        let shapes: [(String, FuzzFile.Shape)] = [
            ("fifo", .fifo), ("directory", .directory), ("empty", .bytes([])), ("blank", .bytes(Array(" \n\t\r\n".utf8))),
            ("bom", .bytes([0xEF, 0xBB, 0xBF] + minimal)), ("nul", .bytes([0])),
            ("over 1 MiB", .bytes(sized((1 << 20) + 1))), ("exactly 1 MiB", .bytes(sized(1 << 20))),
            ("link to /dev/zero", .symlink(.outside("/dev/zero"))), ("link to /etc/passwd", .symlink(.outside("/etc/passwd"))),
            ("link to /", .symlink(.outside("/"))),
            ("link to a valid file", .symlink(.inSpool("fuzz-targets/valid-\(inbox.rawValue).json"))),
            ("relative link to a valid file", .symlink(.relative("../../fuzz-targets/valid-\(inbox.rawValue).json"))),
            ("link to a FIFO", .symlink(.inSpool("fuzz-targets/fifo"))),
            ("link to a directory", .symlink(.inSpool("fuzz-targets/dir"))),
            ("link to a large file", .symlink(.inSpool("fuzz-targets/big.json"))),
            ("link to a missing file", .symlink(.inSpool("fuzz-targets/missing.json"))),
            ("link in a loop", .symlink(.inSpool("fuzz-targets/loop-a"))),
            ("link to itself", .symlink(.relative("SELF"))),
        ]
        return shapes.enumerated().map { index, shape in
            FuzzFile(inbox: inbox, name: Array("\(prefix)\(index).json".utf8), shape: shape.1, mtime: nil,
                     label: shape.0, field: "file kind", specValid: nil)
        }
    }

    /// Modification times a day and 300 days ahead (deferred), 400 days, past 2262 and 2300 ahead (not deferrals:
    /// clocks gone wrong), 1970 and before 1970; each on a valid and on an unparseable file.
    func modificationTimes(_ inbox: FuzzFile.Inbox) -> [FuzzFile] {
        let prefix = "m" + inbox.letter
        let times: [(String, Double)] = [
            ("a day ahead", now + 86_400), ("300 days ahead", now + 300 * 86_400), ("400 days ahead", now + 400 * 86_400),
            ("2263", 9_183_110_400), ("2300", 10_413_792_000), ("1970", 0), ("1902", -2_145_916_800),
        ]
        var files: [FuzzFile] = []
        for (index, (what, time)) in times.enumerated() {
            files.append(FuzzFile(inbox: inbox, name: Array("\(prefix)v\(index).json".utf8), shape: .bytes(Self.minimal(inbox)),
                                  mtime: time, label: "valid, mtime \(what)", field: "mtime", specValid: true))
            files.append(FuzzFile(inbox: inbox, name: Array("\(prefix)b\(index).json".utf8), shape: .bytes(Array("{".utf8)),
                                  mtime: time, label: "unparseable, mtime \(what)", field: "mtime", specValid: false))
        }
        return files
    }
}
