import Foundation

extension DeployBenchmark.Report {
    /// The deploy row: the cold deploy and the warm redeploys (median and range), submission to the switch and to the
    /// job's end.
    public var summary: [[String]] {
        var rows = [["DEPLOY (examples/hello)", "RUNS", "SWITCHED P50", "RANGE", "PROXY_UPDATE P50", "ENDED P50",
                     "RANGE"]]
        for (name, deploys) in [("cold: first deploy", cold), ("warm: code change, same requirements", warm)]
        where !deploys.isEmpty {
            let switched = deploys.compactMap(\.toSwitch)
            let proxy = deploys.compactMap(\.toProxyUpdated)
            let ended = deploys.map(\.toEnd)
            rows.append([name, "\(deploys.count)", seconds(switched.percentile(0.5)), range(switched),
                         seconds(proxy.percentile(0.5)), seconds(ended.percentile(0.5)), range(ended)])
        }
        return rows
    }

    /// Each step's run (started to finished) and wait (dispatched to started), cold and warm (median and range).
    public var steps: [[String]] {
        var rows = [["STEP (s)", "COLD RUN", "COLD WAIT", "WARM RUN P50", "RANGE", "WARM WAIT P50"]]
        var names: [String] = []
        for deploy in cold + warm { for step in deploy.steps where !names.contains(step.name) { names.append(step.name) } }
        for name in names {
            let coldStep = cold.first?.steps.first { $0.name == name }
            let warmSteps = warm.compactMap { $0.steps.first { $0.name == name } }
            rows.append([name, coldStep.map { seconds($0.ran) } ?? "-", coldStep.map { seconds($0.waited) } ?? "-",
                         seconds(warmSteps.map(\.ran).percentile(0.5)), range(warmSteps.map(\.ran)),
                         seconds(warmSteps.map(\.waited).percentile(0.5))])
        }
        var stages: [String] = []
        for deploy in cold + warm {
            for (stage, _) in deploy.buildStages where !stages.contains(stage) { stages.append(stage) }
        }
        for stage in stages {
            let coldTime = cold.first?.buildStages.first { $0.0 == stage }?.1
            let warmTimes = warm.compactMap { $0.buildStages.first { $0.0 == stage }?.1 }
            rows.append(["  build: " + stage, coldTime.map(seconds) ?? "-", "", seconds(warmTimes.percentile(0.5)),
                         range(warmTimes), ""])
        }
        var deployStages: [String] = []
        for deploy in cold + warm {
            for (stage, _) in deploy.deployStages where !deployStages.contains(stage) { deployStages.append(stage) }
        }
        for stage in deployStages {
            let coldTime = cold.first?.deployStages.first { $0.0 == stage }?.1
            let warmTimes = warm.compactMap { $0.deployStages.first { $0.0 == stage }?.1 }
            rows.append(["  deploy: " + stage, coldTime.map(seconds) ?? "-", "", seconds(warmTimes.percentile(0.5)),
                         range(warmTimes), ""])
        }
        return rows
    }

    var cold: [DeployBenchmark.Deploy] { deploys.filter { !$0.warm } }
    var warm: [DeployBenchmark.Deploy] { deploys.filter(\.warm) }

    private func seconds(_ value: Double) -> String { value.isNaN ? "-" : String(format: "%.2f", value) }

    private func range(_ values: [Double]) -> String {
        guard let low = values.min(), let high = values.max() else { return "-" }
        return String(format: "%.2f-%.2f", low, high)
    }
}
