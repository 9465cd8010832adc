import ArgumentParser
import DZClient
import DZSpool

struct ScaleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scale",
        abstract: "Change how many instances of the app run, or how many gunicorn workers each has.",
        discussion: """
            More instances are placed on the healthiest appservers, health-checked and added to the site; fewer \
            are taken out of the site, then stopped. Workers change in place (SIGTTIN/SIGTTOU to each gunicorn \
            master). Later deploys keep the new scale. Exit 0 when the job succeeded, 1 when it failed.
            """)

    @OptionGroup var options: SpoolOptions
    @OptionGroup var project: ProjectOption
    @OptionGroup var wait: WaitOption

    @Option(name: .long, help: "How many instances to run (1 to 32).")
    var instances: Int?

    @Option(name: .long, help: "Gunicorn workers per instance (1 to 32).")
    var workers: Int?

    func validate() throws {
        guard instances != nil || workers != nil else { throw ValidationError("give --instances, --workers or both") }
        if let instances, !(1...32).contains(instances) { throw ValidationError("--instances must be from 1 to 32") }
        if let workers, !(1...32).contains(workers) { throw ValidationError("--workers must be from 1 to 32") }
    }

    func run() async throws {
        var params: [String: JSONValue] = [:]
        if let instances { params["instances"] = .int(Int64(instances)) }
        if let workers { params["workers"] = .int(Int64(workers)) }
        guard let job = try await wait.submit("scale", project: project.project, params: params,
                                              what: "scale of \(project.project)", options: options) else { return }
        var line = "\(job.result["instances"]?.intValue ?? 0) instance(s)"
        if let workers = job.result["workers"]?.intValue { line += ", \(workers) worker(s) each" }
        let started = job.strings("started"), stopped = job.strings("stopped")
        if !started.isEmpty { line += "; started " + started.joined(separator: ", ") }
        if !stopped.isEmpty { line += "; stopped " + stopped.joined(separator: ", ") }
        print(line)
    }
}
