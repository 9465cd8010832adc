import DZJSON

/// Where an app's SQLite database is, for choosing appservers that reach it: `engine` (only `sqlite` matters;
/// another engine puts no constraint), the file's path `name` and the database host's id `host` (nil: whichever
/// one database host publishes that apps root). Never a password. The handler checks the path's shape and the
/// host id (`SQLiteHome`).
public struct SQLiteDatabaseLocation: Sendable, Equatable {
    public var engine: String
    public var name: String?
    public var host: String?

    public init(engine: String, name: String?, host: String?) {
        self.engine = engine
        self.name = name
        self.host = host
    }

    init(json object: [String: JSONValue]) throws(ContractViolation) {
        guard let engine = object["engine"]?.stringValue else {
            throw ContractViolation("database must be an object with an engine")
        }
        switch object["host"] {
        case nil, .null?: host = nil
        case .string(let text)?: host = text
        case let other?: throw ContractViolation("database.host must be a string, not \(other.typeName)")
        }
        self.engine = engine
        name = object["name"]?.stringValue
    }

    var json: [String: JSONValue] {
        var object: [String: JSONValue] = ["engine": .string(engine)]
        if let name { object["name"] = .string(name) }
        if let host { object["host"] = .string(host) }
        return object
    }
}
