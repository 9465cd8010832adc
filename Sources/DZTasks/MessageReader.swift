import DZJSON
import DZSpool

/// Reads a message's keys by type, with the messages handlers have always given (`missing argument "x"`,
/// `argument "x" must be a string, not number`). A key whose value is `null` counts as absent.
struct MessageReader {
    let object: [String: JSONValue]

    init(_ object: [String: JSONValue]) {
        self.object = object
    }

    /// The value of `key`, nil when absent or null.
    func value(_ key: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    func string(_ key: String) throws(ContractViolation) -> String {
        guard let text = try optionalString(key) else { throw ContractViolation("missing argument \"\(key)\"") }
        return text
    }

    func optionalString(_ key: String) throws(ContractViolation) -> String? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value else {
            throw ContractViolation("argument \"\(key)\" must be a string, not \(value.typeName)")
        }
        return text
    }

    /// A JSON number or a string that spells one (as a task dropped by hand may have it); finite.
    func number(_ key: String) throws(ContractViolation) -> Double? {
        guard let value = value(key) else { return nil }
        guard let number = value.doubleValue, number.isFinite else {
            throw ContractViolation("argument \"\(key)\" must be a number")
        }
        return number
    }

    /// A whole number in `range`.
    func count(_ key: String, in range: ClosedRange<Int>) throws(ContractViolation) -> Int? {
        guard let number = try number(key) else { return nil }
        guard number.rounded() == number, Double(range.lowerBound) <= number, number <= Double(range.upperBound)
        else {
            throw ContractViolation("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return Int(number)
    }

    func bool(_ key: String) throws(ContractViolation) -> Bool? {
        guard let value = value(key) else { return nil }
        guard case .bool(let flag) = value else {
            throw ContractViolation("argument \"\(key)\" must be a boolean, not \(value.typeName)")
        }
        return flag
    }

    func object(_ key: String) throws(ContractViolation) -> [String: JSONValue]? {
        guard let value = value(key) else { return nil }
        guard case .object(let object) = value else {
            throw ContractViolation("argument \"\(key)\" must be an object, not \(value.typeName)")
        }
        return object
    }

    func array(_ key: String) throws(ContractViolation) -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else {
            throw ContractViolation("argument \"\(key)\" must be an array, not \(value.typeName)")
        }
        return items
    }

    func project() throws(ContractViolation) -> ProjectID {
        let text = try string("project")
        do { return try ProjectID(text) } catch { throw ContractViolation(error.message) }
    }

    /// Host names: an array of names or one comma-separated string, each checked, duplicates dropped; at least
    /// one.
    func hostnames() throws(ContractViolation) -> [Hostname] {
        let names: [Hostname]
        do { names = try Hostname.list(object["hostnames"]) } catch {
            throw ContractViolation("argument \"hostnames\": \(error.message)")
        }
        guard !names.isEmpty else { throw ContractViolation("argument \"hostnames\": needs at least one host name") }
        return names
    }

    /// `instance`: an instance id as `deploy` makes it (`[A-Za-z0-9._-]`, never a path).
    func instanceID() throws(ContractViolation) -> String {
        let instance = try string("instance")
        guard TaskID.isValid(instance) else { throw ContractViolation("instance ids are [A-Za-z0-9._-]") }
        return instance
    }

    /// `instances`: an array of instance ids as `deploy` makes them (`[A-Za-z0-9._-]`, never a path), repeats
    /// dropped, order kept.
    func instanceIDs() throws(ContractViolation) -> [String] {
        guard case .array(let items)? = value("instances") else {
            throw ContractViolation("argument \"instances\" must be an array of instance ids")
        }
        var ids: [String] = []
        for item in items {
            guard let id = item.stringValue, TaskID.isValid(id) else {
                throw ContractViolation("instance ids are [A-Za-z0-9._-], not \(String(item.jsonText.prefix(80)))")
            }
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }
}
