import DZSystem
import Foundation

/// An app role's password file on the database host: one libpq password file line, mode 0600, written whole by
/// an atomic rename after fsync so that a crash leaves the old file or the new one, never half of one.
struct PasswordFile: Sendable {
    /// One line's fields.
    struct Entry: Sendable, Equatable {
        var host: String
        var port: Int
        var database: String
        var user: String
        var password: RolePassword
    }

    let path: String

    /// The entry in the file; nil when there is no file. A file that is not one well-formed entry for `user`
    /// also gives nil (with `damaged` set), so that the caller makes a new password rather than trusting it.
    func read(user: String, damaged: inout Bool) throws(DatabaseError) -> Entry? {
        let bytes: [UInt8]
        do {
            switch try FileIO.read(path, limit: 4096) {
            case .contents(let contents, _): bytes = contents
            case .tooLarge, .notRegular:
                damaged = true
                return nil
            }
        } catch .noSuchFileOrDirectory {
            return nil
        } catch {
            throw .filesystem(path, error)
        }
        let line = String(decoding: bytes, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? ""
        let fields = PasswordFile.split(line)
        guard fields.count == 5, let port = Int(fields[1]), fields[3] == user,
              let password = RolePassword(fields[4])
        else {
            damaged = true
            return nil
        }
        return Entry(host: fields[0], port: port, database: fields[2], user: fields[3], password: password)
    }

    /// Replaces the file with `entry`: a 0600 temporary file beside it, fsynced, renamed over it, and the
    /// directory fsynced.
    func write(_ entry: Entry) throws(DatabaseError) {
        let line = [entry.host, String(entry.port), entry.database, entry.user, entry.password.text]
            .map(PasswordFile.escape).joined(separator: ":") + "\n"
        do {
            try FileIO.replace(path, bytes: Array(line.utf8), mode: 0o600, sync: true)
        } catch {
            throw .filesystem(path, error)
        }
    }

    /// Removes the file; true if there was one.
    @discardableResult
    func remove() throws(DatabaseError) -> Bool {
        do {
            try FileSystem.unlink(path)
            return true
        } catch .noSuchFileOrDirectory {
            return false
        } catch {
            throw .filesystem(path, error)
        }
    }

    /// libpq's escaping in password files: `\` before each `:` and `\`.
    static func escape(_ field: String) -> String {
        field.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: ":", with: "\\:")
    }

    /// A password file line's fields, split at each unescaped `:` and unescaped.
    static func split(_ line: String) -> [String] {
        var fields: [String] = [""]
        var escaped = false
        for character in line {
            if escaped {
                fields[fields.count - 1].append(character)
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else if character == ":" {
                fields.append("")
            } else {
                fields[fields.count - 1].append(character)
            }
        }
        return fields
    }
}
