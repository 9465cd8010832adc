import DZAgent
import DZSpool
import DZSystem

/// `placement` (queue `build`): chooses the appservers for an app's new instances from the host heartbeats in
/// the spool (see `Placement`). Arguments: `count` (instances, 1 to 32, default 1), optional `max_age_s` (how old a
/// heartbeat may be, default 30), `instances` (object: running instances per appserver id, which the coordinator
/// reads from the zoomdb), `exclude` (appserver ids not to use). Output: `appservers` (ids, one per instance),
/// `candidates` (what each healthy appserver looked like), `unhealthy` (the others and why).
///
/// No healthy appserver is a retryable failure (kind `no-appserver`): agents may be starting.
public struct PlacementHandler: TaskHandler {
    public let name = "placement"
    public let spool: Spool

    public init(spool: Spool) {
        self.spool = spool
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let count = try context.number("count", default: 1)
        guard count == count.rounded(), (1...32).contains(count) else {
            throw TaskFailure.badArgs("count must be a whole number from 1 to 32")
        }
        let maxAge = try context.number("max_age_s", default: 30)
        guard maxAge > 0 else { throw TaskFailure.badArgs("max_age_s must be positive") }
        var instances: [String: Int] = [:]
        switch context.args["instances"] {
        case nil, .null?: break
        case .object(let object)?:
            for (id, value) in object {
                guard let number = value.intValue, number >= 0 else {
                    throw TaskFailure.badArgs("instances must map appserver ids to counts")
                }
                instances[id] = Int(number)
            }
        case let other?: throw TaskFailure.badArgs("instances must be an object, not \(other.typeName)")
        }
        var excluded = Set<String>()
        switch context.args["exclude"] {
        case nil, .null?: break
        case .array(let items)?:
            for item in items {
                guard let id = item.stringValue else { throw TaskFailure.badArgs("exclude must list appserver ids") }
                excluded.insert(id)
            }
        case let other?: throw TaskFailure.badArgs("exclude must be an array, not \(other.typeName)")
        }

        let placement = Placement(maxAge: maxAge, instances: instances, excluded: excluded)
        let heartbeats = spool.heartbeats()
        let ranked = placement.rank(heartbeats)
        let chosen: [Placement.Candidate]
        do { chosen = try placement.choose(Int(count), from: heartbeats) } catch {
            throw TaskFailure(kind: "no-appserver", message: error.description, retryable: true)
        }
        context.logger.info("placed", metadata: ["appservers": "\(chosen.map(\.id).joined(separator: ","))"])
        return [
            "appservers": .array(chosen.map { .string($0.id) }),
            "candidates": .array(ranked.healthy.map { .object($0.jsonObject) }),
            "unhealthy": .array(ranked.unhealthy.map { .object(["appserver": .string($0.id), "reason": .string($0.reason)]) }),
        ]
    }
}
