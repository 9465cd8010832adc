import DZAgent
import DZSpool

/// The checks on a task's project and bundle names: bundles are `bundle_<project>_...` of `[A-Za-z0-9._-]`.
package enum BundleNames {
    package static func bundle(_ name: String, of project: ProjectID) throws(TaskFailure) -> String {
        guard name.hasPrefix("bundle_" + project.rawValue + "_"), TaskID.isValid(name) else {
            throw .badArgs("\"\(String(name.prefix(80)))\" is not a bundle of project \(project)")
        }
        return name
    }
}
