import ArgumentParser
import DZJobs
import DZSpool
import Foundation

/// Host names checked here as the coordinator will check them (`HostnamePolicy`), so that a refused name fails
/// at once instead of after a build. The public suffix list is used when this host has it; without it only the
/// rules that need no list apply here, and the coordinator, which always has the list, refuses the rest.
enum HostnameCheck {
    static func validate(_ names: [String], project: String) throws {
        let path = PublicSuffixList.path(explicit: nil, environment: ProcessInfo.processInfo.environment)
        let policy = HostnamePolicy(suffixes: (try? PublicSuffixList(contentsOf: path)) ?? .defaultRuleOnly)
        for name in names {
            do { _ = try policy.check(name, project: project) } catch { throw ValidationError(error.message) }
        }
    }
}
