/// What a push changed, as git's `post-receive` hook reads it on standard input: one line per ref, `<old> <new>
/// <ref>`, the ids 40 (SHA-1) or 64 (SHA-256) hexadecimal digits, all zeros for a ref made or deleted. Read as data:
/// a line of any other shape is an error, never a command.
public struct PushedRefs: Sendable, Equatable {
    public struct Update: Sendable, Equatable {
        public var old: String
        public var new: String
        public var ref: String

        /// The ref was deleted by the push (`git push origin :main`).
        public var isDeletion: Bool { new.allSatisfy { $0 == "0" } }
    }

    public var updates: [Update]

    /// The most input a push's hook reads: 64 KiB is over a thousand refs.
    public static let inputLimit = 64 << 10

    public init(updates: [Update]) { self.updates = updates }

    /// Parses the hook's input.
    public static func parse(_ text: String) throws(ClientError) -> PushedRefs {
        var updates: [Update] = []
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: true).enumerated() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3, isObjectID(fields[0]), isObjectID(fields[1]), fields[0].count == fields[1].count,
                  fields[2].hasPrefix("refs/"), fields[2].utf8.count <= 1024,
                  !fields[2].utf8.contains(where: { $0 < 0x20 || $0 == 0x7F })
            else {
                throw .badInput("line \(number + 1) of the pushed refs is not \"<old-id> <new-id> <ref>\"")
            }
            updates.append(Update(old: fields[0], new: fields[1], ref: fields[2]))
        }
        return PushedRefs(updates: updates)
    }

    /// The update of branch `branch`, if the push changed it.
    public func update(ofBranch branch: String) -> Update? {
        updates.last { $0.ref == "refs/heads/" + branch }
    }

    static func isObjectID(_ text: String) -> Bool {
        (text.utf8.count == 40 || text.utf8.count == 64)
            && text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
    }
}
