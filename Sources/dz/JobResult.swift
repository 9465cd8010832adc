import DZSpool

/// A finished job's result, with the lines most commands print.
struct JobResult {
    var result: [String: JSONValue]

    func strings(_ key: String) -> [String] { (result[key]?.arrayValue ?? []).compactMap(\.stringValue) }

    /// The site's URLs, one a line.
    func printURLs() { for url in strings("urls") { print(url) } }
}
