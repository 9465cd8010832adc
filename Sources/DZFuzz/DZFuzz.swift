import DZSystem
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `DZFuzz [dir|file ...]`: runs every file of the seed corpus (default `Tests/Fuzz/corpus`) through the readers of
/// outside bytes once (`ReaderCheck`) and prints what they accepted; the integration tests run it, so that every
/// CI run replays the corpus. Built by scripts/fuzz with `-sanitize=fuzzer -DFUZZING`, it is a libFuzzer binary
/// instead and takes libFuzzer's arguments. A finding stops the process with SIGABRT; exit 66 when an input
/// cannot be read.
@main
enum DZFuzz {
    static func main() {
        #if FUZZING
        exit(FuzzDriver.run())
        #else
        replay(Array(CommandLine.arguments.dropFirst()))
        #endif
    }

    static func replay(_ arguments: [String]) {
        var paths: [String] = []
        for argument in arguments.isEmpty ? ["Tests/Fuzz/corpus"] : arguments {
            if let names = try? FileSystem.names(in: argument) {
                paths += names.sorted().filter { !$0.hasPrefix(".") }.map { argument + "/" + $0 }
            } else {
                paths.append(argument)
            }
        }
        var tally = ReaderCheck.Tally()
        for path in paths {
            guard let bytes = try? FileIO.readAll(path) else {
                fputs("DZFuzz: cannot read \(path)\n", stderr)
                exit(66)
            }
            ReaderCheck.run(bytes, &tally)
        }
        print("replayed \(tally.inputs) inputs: \(tally.json) JSON, \(tally.tasks) tasks, \(tally.results) results, "
              + "\(tally.requests) job requests, \(tally.times) times, \(tally.durations) durations, "
              + "\(tally.claimNames) claim names; no finding")
    }
}
