import DZSpool
import DZSystem

extension BundleManifest {
    /// The largest manifest read back (a bundle of 100,000 files makes about 15 MB of JSON).
    static let sizeLimit = 64 << 20

    /// The manifest as JSON, keys in snake case; `archive_sha256` and `archive_size` are `null` when unset.
    public var json: JSONValue {
        .object([
            "format": .int(Self.format),
            "name": .string(name),
            "project": .string(project),
            "code_revision": .string(codeRevision),
            "python_version": pythonVersion.map(JSONValue.string) ?? .null,
            "django_version": djangoVersion.map(JSONValue.string) ?? .null,
            "created": .string(created.rfc3339),
            "files": .array(files.map(\.json)),
            "skipped": .array(skipped.map { .object(["path": .string($0.path), "reason": .string($0.reason)]) }),
            "archive_sha256": archiveSHA256.map(JSONValue.string) ?? .null,
            "archive_size": archiveSize.map(JSONValue.int) ?? .null,
        ])
    }

    /// Compact JSON with sorted keys, as written to `MANIFEST.json` and `<archive>.manifest.json`.
    public func serialized() -> [UInt8] { json.serialized() }

    /// The same bytes as `serialized()`, with `files` given already serialized (`filesJSON`: the entries as
    /// `Entry.json` serializes them, joined by commas, without the brackets): a kept archive segment has its
    /// thousands of entries so, and they are not serialized again. The keys sort as `serialized()` sorts them,
    /// those before `files` first.
    func serialized(filesJSON: [UInt8]) -> [UInt8] {
        guard case .object(var members) = json else { return serialized() }
        members["files"] = nil
        let before = JSONValue.object(members.filter { $0.key < "files" }).serialized()
        let after = JSONValue.object(members.filter { $0.key > "files" }).serialized()
        var bytes: [UInt8] = []
        bytes.reserveCapacity(before.count + filesJSON.count + after.count + 12)
        bytes += before.dropLast()
        bytes += Array(#","files":["#.utf8)
        bytes += filesJSON
        bytes += Array("],".utf8)
        bytes += after.dropFirst()
        return bytes
    }

    /// The bytes of the manifest kept beside the archive, made from those of the copy inside it (`inner`, as
    /// `serialized` gives them): only `archive_sha256` and `archive_size` differ, the first two keys, so a
    /// manifest of many thousand entries is not serialized twice. Nil when `inner` does not begin with them unset.
    static func beside(inner: [UInt8], sha256: String, size: Int64) -> [UInt8]? {
        let unset = Array(#"{"archive_sha256":null,"archive_size":null,"#.utf8)
        guard inner.starts(with: unset), SHA256Digest.isHex(sha256), size >= 0 else { return nil }
        return Array(#"{"archive_sha256":"\#(sha256)","archive_size":\#(size),"#.utf8) + inner.dropFirst(unset.count)
    }

    /// Reads a manifest from JSON bytes, checking every field.
    public static func parse(_ bytes: [UInt8]) throws(BundleArchiveError) -> BundleManifest {
        let value: JSONValue
        do {
            value = try JSONValue.parse(bytes)
        } catch {
            throw .badManifest("not valid JSON")
        }
        return try BundleManifest(json: value)
    }

    /// Reads the manifest kept beside an archive (`<archive>.manifest.json`).
    public static func read(from path: String) throws(BundleArchiveError) -> BundleManifest {
        let outcome: FileIO.ReadOutcome
        do {
            outcome = try FileIO.read(path, limit: sizeLimit)
        } catch {
            throw .system("read the manifest", path: path, error)
        }
        switch outcome {
        case .contents(let bytes, _): return try parse(bytes)
        case .tooLarge(let size): throw .badManifest("\(path) is \(size) bytes, more than a manifest can be")
        case .notRegular: throw .badManifest("\(path) is not a regular file")
        }
    }

    public init(json: JSONValue) throws(BundleArchiveError) {
        guard let object = json.objectValue else { throw .badManifest("not a JSON object") }
        guard let format = object["format"]?.intValue, format == Self.format else {
            throw .badManifest("format \(object["format"].map { $0.jsonText } ?? "missing"), expected \(Self.format)")
        }
        let name = try Self.string(object, "name")
        guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0") else {
            throw .badManifest("name \"\(name.prefix(80))\" is not a file name")
        }
        let project = try Self.string(object, "project")
        guard ProjectID.isValid(project) else { throw .badManifest("project \"\(project.prefix(40))\" is not a project id") }
        let createdText = try Self.string(object, "created")
        guard let created = Timestamp(rfc3339: createdText) else {
            throw .badManifest("created \"\(createdText.prefix(40))\" is not an RFC 3339 time")
        }
        guard let fileValues = object["files"]?.arrayValue else { throw .badManifest("files is not an array") }
        var files: [Entry] = []
        files.reserveCapacity(fileValues.count)
        for value in fileValues { files.append(try Entry(json: value)) }
        var skipped: [Skipped] = []
        for value in object["skipped"]?.arrayValue ?? [] {
            guard let path = value["path"]?.stringValue, let reason = value["reason"]?.stringValue else {
                throw .badManifest("a skipped entry lacks its path or reason")
            }
            skipped.append(Skipped(path: path, reason: reason))
        }
        let archiveSHA256 = try Self.optionalString(object, "archive_sha256")
        if let archiveSHA256, !SHA256Digest.isHex(archiveSHA256) {
            throw .badManifest("archive_sha256 \"\(archiveSHA256.prefix(80))\" is not a lowercase hex SHA-256")
        }
        var archiveSize: Int64?
        if let value = object["archive_size"], value != .null {
            guard let size = value.intValue, size >= 0 else { throw .badManifest("archive_size is not a size") }
            archiveSize = size
        }
        self.init(name: name, project: project, codeRevision: try Self.string(object, "code_revision"),
                  pythonVersion: try Self.optionalString(object, "python_version"),
                  djangoVersion: try Self.optionalString(object, "django_version"),
                  created: created, files: files, skipped: skipped, archiveSHA256: archiveSHA256,
                  archiveSize: archiveSize)
    }

    private static func string(_ object: [String: JSONValue], _ key: String) throws(BundleArchiveError) -> String {
        guard let text = object[key]?.stringValue else { throw .badManifest("\(key) is missing or not a string") }
        return text
    }

    private static func optionalString(_ object: [String: JSONValue], _ key: String)
        throws(BundleArchiveError) -> String?
    {
        guard let value = object[key], value != .null else { return nil }
        guard let text = value.stringValue else { throw .badManifest("\(key) is not a string") }
        return text
    }
}

extension BundleManifest.Entry {
    /// Entries' JSON joined by commas, as `BundleManifest.serialized(filesJSON:)` takes them.
    static func serialized(_ entries: some Sequence<BundleManifest.Entry>) -> [UInt8] {
        var bytes: [UInt8] = []
        for entry in entries {
            if !bytes.isEmpty { bytes.append(UInt8(ascii: ",")) }
            bytes += entry.json.serialized()
        }
        return bytes
    }

    /// `{"path", "kind", "size"}`, plus `"executable": true`, `"sha256"` and `"target"` where they apply.
    public var json: JSONValue {
        var object: [String: JSONValue] = ["path": .string(path), "kind": .string(kind.rawValue), "size": .int(size)]
        if executable { object["executable"] = .bool(true) }
        if let sha256 { object["sha256"] = .string(sha256) }
        if let target { object["target"] = .string(target) }
        return .object(object)
    }

    public init(json: JSONValue) throws(BundleArchiveError) {
        guard let path = json["path"]?.stringValue else { throw .badManifest("a file entry has no path") }
        guard case .relative = EntryPath.parse(path) else {
            throw .badManifest("file path \"\(path.prefix(200))\" is not a plain relative path")
        }
        guard let kindText = json["kind"]?.stringValue, let kind = Kind(rawValue: kindText) else {
            throw .badManifest("\(path): kind is not file, directory or symlink")
        }
        guard let size = json["size"]?.intValue, size >= 0 else { throw .badManifest("\(path): size is not a size") }
        let sha256 = json["sha256"]?.stringValue
        if let sha256, !SHA256Digest.isHex(sha256) { throw .badManifest("\(path): sha256 is not a lowercase hex SHA-256") }
        let target = json["target"]?.stringValue
        if kind == .symlink, target == nil { throw .badManifest("\(path): a symlink without a target") }
        self.init(path: path, kind: kind, size: size, executable: json["executable"] == .bool(true), sha256: sha256,
                  target: target)
    }
}
