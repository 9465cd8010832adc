/// The checks that keep every value dz writes into an nginx configuration a single, literal token.
///
/// nginx ends a directive at `;`, opens and closes blocks at `{` and `}`, starts comments at `#`, splits
/// arguments at white space, reads quotes and backslashes as quoting and expands `$name` as a variable (`alias` and
/// `proxy_pass` do): none of these may reach a site file from a task argument or a setting. Each value is
/// checked against a short list of plain bytes instead of escaped.
enum NginxToken {
    /// Bytes allowed in a file system path written into a site: letters, digits and `/._~+@:,=-`.
    static func isSafePath(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.count <= 1024 && text.utf8.allSatisfy { isPathByte($0) }
    }

    /// Bytes allowed in a URL path prefix or a bundle-relative path: letters, digits and `/._~-`.
    static func isURLByte(_ byte: UInt8) -> Bool {
        isAlphanumeric(byte) || byte == UInt8(ascii: "/") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
            || byte == UInt8(ascii: "~") || byte == UInt8(ascii: "-")
    }

    static func isPathByte(_ byte: UInt8) -> Bool {
        isURLByte(byte) || byte == UInt8(ascii: "+") || byte == UInt8(ascii: "@") || byte == UInt8(ascii: ":")
            || byte == UInt8(ascii: ",") || byte == UInt8(ascii: "=")
    }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }

    /// `text` shortened and with anything unprintable replaced, for an error message.
    static func printable(_ text: String) -> String {
        String(String.UnicodeScalarView(text.unicodeScalars.prefix(80).map { scalar in
            scalar.value >= 0x20 && scalar.value < 0x7f ? scalar : "?"
        }))
    }
}
