import DZAgent
import DZSpool

extension AppDatabase {
    /// The database a `deploy` task names in its `database` argument (the object `create_database` returned:
    /// `engine`, `host`, `port`, `name`, `user`, `password`), checked: a PostgreSQL database needs a host, a name
    /// and a user; a SQLite database is the absolute path `.../apps/<project>/db.sqlite3` with no `..`. Error
    /// messages never quote the password.
    init(deployArgument value: JSONValue, project: ProjectID) throws(TaskFailure) {
        guard case .object(let object) = value else {
            throw .badArgs("argument \"database\" must be an object, not \(value.typeName)")
        }
        func text(_ key: String, required: Bool) throws(TaskFailure) -> String? {
            switch object[key] {
            case nil, .null?:
                if required { throw .badArgs("database.\(key) is missing") }
                return nil
            case .string(let text)?:
                guard !text.isEmpty || !required else { throw .badArgs("database.\(key) is empty") }
                guard !text.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f }) else {
                    throw .badArgs("database.\(key) contains control characters")
                }
                return text
            case let other?:
                throw .badArgs("database.\(key) must be a string, not \(other.typeName)")
            }
        }
        let engineName = try text("engine", required: true) ?? ""
        guard let engine = Engine(rawValue: engineName) else {
            throw .badArgs("database.engine must be postgresql or sqlite, not \"\(engineName.prefix(40))\"")
        }
        let name = try text("name", required: true) ?? ""
        switch engine {
        case .sqlite:
            guard Self.isSQLitePath(name, project: project) else {
                throw .badArgs("database.name must be the absolute path .../apps/\(project)/db.sqlite3 (no \"..\", "
                    + "no ?, # or %), not \"\(String(name.prefix(120)))\"")
            }
            self.init(engine: .sqlite, name: name, justCreated: false)
        case .postgresql:
            let host = try text("host", required: true) ?? ""
            guard Self.isHost(host) else {
                throw .badArgs("database.host must be a host name or an IP address, not \"\(host.prefix(80))\"")
            }
            var port: Int?
            if let raw = object["port"], raw != .null {
                guard let number = raw.intValue, (1...65535).contains(number) else {
                    throw .badArgs("database.port must be a port number from 1 to 65535")
                }
                port = Int(number)
            }
            self.init(engine: .postgresql, host: host, port: port, name: name, user: try text("user", required: true),
                      password: try text("password", required: false), justCreated: false)
        }
    }

    /// `DZ_DATABASE_URL`, as `dz_settings.py` parses it: `postgresql://user:password@host:port/name` with user,
    /// password and name percent-encoded, or `sqlite:///` followed by the absolute path.
    var url: String {
        switch engine {
        case .sqlite:
            return "sqlite:///" + name
        case .postgresql:
            var authority = Self.percentEncoded(user ?? "")
            if let password { authority += ":" + Self.percentEncoded(password) }
            let host = self.host ?? "localhost"
            var url = "postgresql://" + authority + "@" + (host.contains(":") ? "[" + host + "]" : host)
            if let port { url += ":\(port)" }
            return url + "/" + Self.percentEncoded(name)
        }
    }

    /// Everything but unreserved characters (`A-Z a-z 0-9 - . _ ~`) as `%XX`.
    static func percentEncoded(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "~"):
                out.unicodeScalars.append(UnicodeScalar(byte))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 15)])
            }
        }
        return out
    }

    /// An absolute path ending in `/apps/<project>/db.sqlite3`, without `.` or `..` components, empty components,
    /// control characters, or the characters a URL would split on.
    static func isSQLitePath(_ path: String, project: ProjectID) -> Bool {
        guard path.hasPrefix("/"), path.hasSuffix("/apps/" + project.rawValue + "/db.sqlite3"),
              path.utf8.count <= 1024,
              !path.utf8.contains(where: { $0 < 0x20 || $0 == 0x7f || $0 == UInt8(ascii: "?")
                  || $0 == UInt8(ascii: "#") || $0 == UInt8(ascii: "%") })
        else { return false }
        return path.dropFirst().split(separator: "/", omittingEmptySubsequences: false)
            .allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// A DNS name or an IPv4/IPv6 address: letters, digits, `.`, `-`, `_` and (IPv6) `:`.
    static func isHost(_ text: String) -> Bool {
        guard (1...253).contains(text.utf8.count) else { return false }
        if AppServerSettings.isNumericAddress(text) { return true }
        return text.utf8.allSatisfy { byte in
            (97...122).contains(byte) || (65...90).contains(byte) || (48...57).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        } && !text.hasPrefix("-")
    }
}
