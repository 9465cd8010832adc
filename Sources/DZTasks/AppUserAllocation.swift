import DZJSON

/// An app's unix user as the coordinator allocated it once for its project (`{"name": ..., "uid": ...}`): every
/// deploy step of every job names the same one, and the appserver never chooses either itself. The handler checks
/// the name against the project's rule (`AppUser.expectedName`).
public struct AppUserAllocation: Sendable, Equatable {
    public var name: String
    public var uid: UInt32

    public init(name: String, uid: UInt32) {
        self.name = name
        self.uid = uid
    }

    public init(json object: [String: JSONValue]) throws(ContractViolation) {
        guard let name = object["name"]?.stringValue, let number = object["uid"]?.intValue else {
            throw ContractViolation("app_user must be an object with a name and a uid")
        }
        guard (1000...Int64(Int32.max)).contains(number), number != 65534, number != 65535 else {
            throw ContractViolation("app_user.uid must be from 1000 to 2147483647 (not 65534 or 65535), not \(number)")
        }
        self.init(name: name, uid: UInt32(number))
    }

    public var json: [String: JSONValue] { ["name": .string(name), "uid": .int(Int64(uid))] }
}
