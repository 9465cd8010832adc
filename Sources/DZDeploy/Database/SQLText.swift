import Foundation

/// Quoting of names and values written into SQL, by PostgreSQL's own rules (`quote_ident`, `quote_literal`).
///
/// dz only ever quotes names built from a validated project id and passwords it generated, so neither can hold a
/// quote; the quoting is there so that this stays true if either ever changes.
enum SQLText {
    /// `name` as a quoted identifier: in double quotes, each double quote doubled (`quote_ident`).
    static func identifier(_ name: String) -> String {
        "\"" + withoutNUL(name).replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `text` as a string literal: in single quotes, each single quote doubled, and, if it holds a backslash, as
    /// an `E'...'` literal with each backslash doubled, so that it means the same whatever
    /// `standard_conforming_strings` is (`quote_literal`).
    static func literal(_ text: String) -> String {
        let quoted = withoutNUL(text).replacingOccurrences(of: "'", with: "''")
        guard quoted.contains("\\") else { return "'" + quoted + "'" }
        return "E'" + quoted.replacingOccurrences(of: "\\", with: "\\\\") + "'"
    }

    /// PostgreSQL text cannot hold NUL, and psql would end the statement there.
    private static func withoutNUL(_ text: String) -> String {
        text.contains("\u{0}") ? text.replacingOccurrences(of: "\u{0}", with: "") : text
    }
}
