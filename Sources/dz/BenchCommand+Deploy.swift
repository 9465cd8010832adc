import ArgumentParser
import DZBench
import DZSystem
import Foundation

extension BenchCommand {
    func validateDeploy() throws {
        guard (0...50).contains(deployRedeploys) else { throw ValidationError("--deploy-redeploys must be from 0 to 50") }
        if deploy, crossHost || jobsOnly || scaleOnly {
            throw ValidationError("--deploy, --cross-host, --jobs-only and --scale-only measure different things: pick one")
        }
        if deploy, (try? FileSystem.status(deployExample))?.isDirectory != true {
            throw ValidationError("--deploy-example \(deployExample): not a directory (run from the repository, or "
                                  + "give the path of examples/hello)")
        }
    }

    /// The deploy row (see `DeployBenchmark`).
    func measureDeploy(executable: String, base: String) throws {
        let example: String
        do { example = try FileSystem.resolve(deployExample) } catch {
            complain("--deploy-example \(deployExample): \(error)")
            throw ExitStatus.badInput
        }
        let benchmark = DeployBenchmark(executable: executable, directory: base, example: example,
                                        redeploys: deployRedeploys)
        let report: DeployBenchmark.Report
        do { report = try benchmark.run { print($0) } } catch {
            complain("\(error)")
            throw ExitStatus.systemFailure
        }
        print("")
        printTable(report.summary)
        print("SWITCHED: submission (the request dropped into jobs) to the new revision's page through nginx, polled")
        print("every 10 ms; PROXY_UPDATE: to proxy_update's finish; ENDED: to the job's end, as the zoomdb records them.")
        print("")
        printTable(report.steps)
        print("RUN: a step's start to its finish on its agent; WAIT: its task dropped to its start (the pickup; the")
        print("coordinator records the drop after it, so a quick pickup shows as a few milliseconds below zero).")
    }
}
