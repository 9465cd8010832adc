/// What a failed `pip install` printed, reduced to its cause: pip's resolver explains a conflict in a few lines
/// ("The conflict is caused by: ...") buried among hundreds of version numbers, and a missing distribution or a
/// Python the package does not support in one `ERROR:` line each. The step's error carries these lines and the
/// path of the full log, kept on the build host.
public enum PipFailure {
    /// The cause lines of pip's output (standard output and error together), at most `limit` of them; empty when
    /// pip said nothing recognisable.
    public static func cause(of output: String, limit: Int = 12) -> [String] {
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
            .map { String($0).trimmingCharacters(in: .whitespaces) }
        var cause: [String] = []
        func add(_ line: String) {
            let short = line.count > 300 ? String(line.prefix(300)) + "..." : line
            if !cause.contains(short) { cause.append(short) }
        }
        // ResolutionImpossible: the lines under "The conflict is caused by:", up to the blank line.
        if let start = lines.firstIndex(where: { $0.hasPrefix("The conflict is caused by") }) {
            for line in lines[(start + 1)...] {
                if line.isEmpty { break }
                add(line)
            }
        }
        for line in lines {
            if line.hasPrefix("ERROR: No matching distribution found for") {
                add(line.dropFirst("ERROR: ".count).description)
            } else if line.hasPrefix("ERROR: Could not find a version that satisfies the requirement") {
                // "... (from versions: 1.0, 1.1, ...)": the list can be hundreds long; keep its last few.
                if let open = line.range(of: " (from versions: ") {
                    let versions = line[open.upperBound...].dropLast().split(separator: ",")
                        .map { $0.trimmingCharacters(in: .whitespaces) }
                    let shown = versions.count > 5 ? "..., " + versions.suffix(5).joined(separator: ", ") : versions.joined(separator: ", ")
                    add(line[line.index(line.startIndex, offsetBy: 7)..<open.lowerBound] + " (versions: \(shown))")
                } else {
                    add(String(line.dropFirst("ERROR: ".count)))
                }
            } else if line.hasPrefix("ERROR: Package ") && line.contains("requires a different Python") {
                add(String(line.dropFirst("ERROR: ".count)))
            } else if line.hasPrefix("ERROR: Ignored the following versions that require a different python version") {
                let entries = line.dropFirst("ERROR: ".count).split(separator: ";")
                    .map { $0.trimmingCharacters(in: .whitespaces) }
                add(entries.count > 3 ? entries.prefix(1).joined() + "; ...; " + entries.suffix(2).joined(separator: "; ")
                    : line.dropFirst("ERROR: ".count).description)
            } else if line.hasPrefix("ERROR: Cannot install") || line.hasPrefix("ERROR: ResolutionImpossible") {
                add(String(line.dropFirst("ERROR: ".count)))
            }
            if cause.count >= limit { break }
        }
        return Array(cause.prefix(limit))
    }

    /// The step's error: the cause (else pip's last lines) and where the full log is.
    public static func message(output: String, tail: String, log: String?) -> String {
        let cause = cause(of: output)
        var message = cause.isEmpty ? "pip install failed:\n" + tail
            : "pip install failed: " + cause.joined(separator: "; ")
        if let log { message += "\n(pip's whole output: \(log) on the build host)" }
        return message
    }
}
