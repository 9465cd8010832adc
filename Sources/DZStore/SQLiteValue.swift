/// A value SQLite stores.
public enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])

    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .real(let value): Int64(value)
        default: nil
        }
    }

    public var double: Double? {
        switch self {
        case .integer(let value): Double(value)
        case .real(let value): value
        default: nil
        }
    }

    public var string: String? {
        if case .text(let value) = self { return value }
        return nil
    }
}

/// Something that binds as an SQL parameter.
public protocol SQLiteBindable {
    var sqliteValue: SQLiteValue { get }
}

extension String: SQLiteBindable { public var sqliteValue: SQLiteValue { .text(self) } }
extension Int: SQLiteBindable { public var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension Int64: SQLiteBindable { public var sqliteValue: SQLiteValue { .integer(self) } }
extension Int32: SQLiteBindable { public var sqliteValue: SQLiteValue { .integer(Int64(self)) } }
extension Double: SQLiteBindable { public var sqliteValue: SQLiteValue { .real(self) } }
extension Bool: SQLiteBindable { public var sqliteValue: SQLiteValue { .integer(self ? 1 : 0) } }
extension SQLiteValue: SQLiteBindable { public var sqliteValue: SQLiteValue { self } }
extension Optional: SQLiteBindable where Wrapped: SQLiteBindable {
    public var sqliteValue: SQLiteValue { self?.sqliteValue ?? .null }
}

/// One result row, by column name.
public struct SQLiteRow: Sendable {
    /// The statement's column names, shared by all its rows.
    let columns: SQLiteColumns
    /// The values, in the order of `columns.names`.
    let storage: [SQLiteValue]

    public subscript(_ column: String) -> SQLiteValue {
        guard let index = columns.index[column] else { return .null }
        return storage[index]
    }

    /// The row as a dictionary by column name.
    public var values: [String: SQLiteValue] {
        Dictionary(zip(columns.names, storage), uniquingKeysWith: { first, _ in first })
    }

    public func string(_ column: String) -> String? { self[column].string }
    public func int(_ column: String) -> Int64? { self[column].int }
    public func double(_ column: String) -> Double? { self[column].double }
}

/// A statement's column names and their positions, made once per compiled statement: rows are arrays of values
/// looked up through it, not a dictionary built for each row (the coordinator reads thousands of rows a second).
final class SQLiteColumns: Sendable {
    let names: [String]
    let index: [String: Int]

    init(_ names: [String]) {
        self.names = names
        var index: [String: Int] = [:]
        for (position, name) in names.enumerated() where index[name] == nil { index[name] = position }
        self.index = index
    }
}
