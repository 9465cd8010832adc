import ArgumentParser
import DZClient
import DZSpool
import DZSystem
import Foundation

struct GitPostReceiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "post-receive",
        abstract: "The hook of a repository `dz git init` made: deploy the pushed commit of the branch.",
        discussion: """
            Reads git's ref updates on standard input; when the push changed --branch, submits build_and_deploy \
            of the new commit from this repository (the current directory, as git runs hooks) and prints its \
            progress and the app's URLs, which git shows the pusher. Exit 0 when nothing was to deploy or the app \
            is deployed, 1 when the job failed (the push itself is kept: push again, or roll back), 65 for input \
            that is not git's.
            """)

    @OptionGroup var options: SpoolOptions

    @OptionGroup var push: PushOptions

    func run() async throws {
        let input = FileHandle.standardInput.readData(ofLength: PushedRefs.inputLimit + 1)
        guard input.count <= PushedRefs.inputLimit else {
            complain("more than \(PushedRefs.inputLimit) bytes of pushed refs: nothing deployed")
            throw ExitStatus.badInput
        }
        let refs = try reportingClientErrors { () throws(ClientError) in
            try PushedRefs.parse(String(decoding: input, as: UTF8.self))
        }
        guard let update = refs.update(ofBranch: push.branch) else {
            print("dz: nothing to deploy: the push did not change \(push.branch)")
            return
        }
        guard !update.isDeletion else {
            print("dz: \(push.branch) was deleted: nothing deployed, the app keeps running (dz undeploy takes it off line)")
            return
        }
        let repository = FileManager.default.currentDirectoryPath
        let client = try options.client()
        var values: [String: JSONValue] = [:]
        for param in push.params {
            let parts = param.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            values[String(parts[0])] = .string(String(parts[1]))
        }
        values["source"] = .string(repository)
        values["rev"] = .string(update.new)
        values["vcs"] = .string("git")
        let id = try reportingClientErrors { () throws(ClientError) in
            try client.requests.submit("build_and_deploy", project: push.project, params: values)
        }
        print("job \(id): build_and_deploy of \(push.project) at \(update.new.prefix(12)) (\(push.branch))")
        fflush(nil)
        let document = try await Follow.succeeded(id, client, quiet: false)
        JobResult(result: document.job.result ?? [:]).printURLs()
    }
}
