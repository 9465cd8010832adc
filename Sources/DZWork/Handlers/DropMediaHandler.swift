import DZAgent
import DZDeploy
import DZSpool
import DZTasks

/// `drop_media` (queue `appserver_<id>`, for undeploy with `--drop-data`): removes the project's media directory on
/// this appserver (`MediaDirectory.remove`: renamed aside and made root's before anything below it is removed, so
/// that no link the app left there leads root elsewhere). Arguments: `project`. Dropping what is not there
/// succeeds with `dropped: false`. Output: `directory`, `dropped`.
public struct DropMediaHandler: TaskHandler {
    public let name = "drop_media"
    public let settings: AppServerSettings

    public init(settings: AppServerSettings) {
        self.settings = settings
    }

    public func run(_ context: TaskContext) async throws -> [String: JSONValue] {
        let project = try context.arguments(of: DropMediaTask.self).project
        let media = MediaDirectory(settings: settings, project: project)
        do {
            let dropped = try media.remove(logger: context.logger)
            return DropMediaTask.Output(directory: media.path, dropped: dropped).json
        } catch {
            throw error.taskFailure
        }
    }
}
