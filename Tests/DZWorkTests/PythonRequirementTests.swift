@testable import DZBuild
@testable import DZDeploy
@testable import DZSource
@testable import DZSpool
import DZSystem
@testable import DZWork
import Testing

@Suite struct PythonRequirementTests {
    private func fits(_ text: String, _ versions: [String] = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]) -> [String] {
        guard let requirement = PythonRequirement(text) else { return ["unparsed"] }
        return versions.filter { version in
            let parts = version.split(separator: ".").compactMap { Int($0) }
            return requirement.allows(major: parts[0], minor: parts[1])
        }
    }

    @Test func versionFilesAskForTheirMinorVersion() {
        #expect(fits("3.12") == ["3.12"])
        #expect(fits("3.12.1") == ["3.12"])
        #expect(fits("python-3.11.4") == ["3.11"])
        #expect(fits("3").count == 6)
    }

    @Test func pep440SpecifiersAreJudgedPerMinorVersion() {
        #expect(fits(">=3.10, <3.13") == ["3.10", "3.11", "3.12"])
        #expect(fits(">=3.10,<3.13") == ["3.10", "3.11", "3.12"])
        #expect(fits(">= 3.11") == ["3.11", "3.12", "3.13"])
        #expect(fits("~=3.11") == ["3.11", "3.12", "3.13"])
        #expect(fits("~=3.11.2") == ["3.11"])
        #expect(fits("==3.12.*") == ["3.12"])
        #expect(fits(">=3.9,!=3.11.*") == ["3.9", "3.10", "3.12", "3.13"])
        #expect(fits(">3.12") == ["3.12", "3.13"], "3.12.1 is later than 3.12")
        #expect(fits("<=3.10.2") == ["3.8", "3.9", "3.10"])
        #expect(fits(">=3.12.4") == ["3.12", "3.13"])
    }

    @Test func poetryConstraintsBecomeVersionsDzCanProvide() {
        #expect(fits("^3.12") == ["3.12", "3.13"])
        #expect(fits("^3.10.2") == ["3.10", "3.11", "3.12", "3.13"])
        #expect(fits("~3.11") == ["3.11"])
        #expect(fits(">=3.10 <3.12") == ["3.10", "3.11"])
        #expect(fits("3.9 || ^3.12") == ["3.9", "3.12", "3.13"])
        #expect(fits("*").count == 6)
    }

    @Test func nonsenseIsRefused() {
        for bad in ["", "latest", "3.x", ">=", "^", "3.12-dev", "3.12rc1", "python3.12; rm -rf /", String(repeating: "3", count: 70),
                    ">=3.*", "3..12"] {
            #expect(PythonRequirement(bad) == nil, "\(bad)")
        }
    }

    @Test func theNewestFittingVersionIsChosen() {
        #expect(PythonRequirement("^3.10")?.newest(of: ["3.11", "3.13", "3.12"]) == "3.13")
        #expect(PythonRequirement("3.12")?.newest(of: ["3.11"]) == nil)
        let offered = AllowedPythons(paths: ["/opt/py/bin/python3.12", "/usr/bin/python3.11"])
        #expect(offered.newest(allowedBy: PythonRequirement(">=3.10")) == "/opt/py/bin/python3.12")
        #expect(offered.newest(allowedBy: PythonRequirement("~3.11")) == "/usr/bin/python3.11")
        #expect(offered.newest(allowedBy: nil) == "/opt/py/bin/python3.12")
        #expect(offered.newest(allowedBy: PythonRequirement("3.13")) == nil)
    }

    @Test func aHostOffersItsSystemPythonsAndTheOperatorsOnePerVersion() throws {
        let system = AllowedPythons.systemDefaults()
        #expect(system.paths.allSatisfy { $0.hasPrefix("/usr/bin/python3.") || $0.hasPrefix("/usr/local/bin/python3.") })
        if FileSystem.exists("/usr/bin/python3.11") { #expect(system.versions.contains("3.11")) }
        let offered = try AllowedPythons.offered(adding: "/opt/py/bin/python3.12, /opt/other/bin/python3.11")
        #expect(offered.paths.prefix(2) == ["/opt/py/bin/python3.12", "/opt/other/bin/python3.11"])
        #expect(Set(offered.versions).count == offered.versions.count, "one interpreter per version")
    }

    @Test func theSentenceNamesWhatIsAskedWhatIsOfferedAndHowToAddIt() {
        let message = AllowedPythons.unavailable(PythonRequirement("3.12")!, basis: "from .python-version",
                                                 host: "this build host",
                                                 offered: AllowedPythons(paths: ["/usr/bin/python3.11"]).summary)
        #expect(message == "the project asks for Python 3.12 (from .python-version) and this build host offers "
            + "3.11 (/usr/bin/python3.11): install a Python that fits there (a python3.X in /usr/bin or /usr/local/bin, "
            + "or any other with dz agent --pythons PATH) or change python_version in zoombuild.cfg")
    }

    @Test func placementChoosesAVersionTheBuildHostAndAnAppserverBothOffer() throws {
        func beat(_ host: String, _ queue: String, pythons: String?) throws -> Heartbeat {
            var beat = Heartbeat(host: try HostID(host), pid: 1, version: "t", queues: [try QueueName(queue)], running: [],
                                 concurrency: 1, started: .now())
            if let pythons { beat.facts[PlacementFacts.pythons] = pythons }
            return beat
        }
        let build = AllowedPythons(paths: ["/usr/bin/python3.11", "/opt/py/bin/python3.12"])
        let check = PythonPlacement(requirement: PythonRequirement(">=3.10"), basis: nil, buildPythons: build)
        #expect(try check.check([beat("app1", "appserver_app1", pythons: "3.11")]).get() == "3.11")
        #expect(try check.check([beat("app1", "appserver_app1", pythons: "3.11,3.12")]).get() == "3.12")
        #expect(try check.check([beat("app1", "appserver_app1", pythons: nil)]).get() == nil, "an older dz is not judged")
        let refused = PythonPlacement(requirement: PythonRequirement("3.12"), basis: nil, buildPythons: build)
            .check([try beat("app1", "appserver_app1", pythons: "3.11")])
        guard case .failure(let unavailable) = refused else { Issue.record("3.12 on an appserver of 3.11"); return }
        #expect(unavailable.message.contains("the appservers offer app1 3.11"))
        let none = PythonPlacement(requirement: PythonRequirement("3.13"), basis: nil, buildPythons: build).check([])
        guard case .failure(let missing) = none else { Issue.record("3.13 on a build host of 3.11, 3.12"); return }
        #expect(missing.message.contains("this build host offers 3.11 (/usr/bin/python3.11), 3.12"))
    }
}

/// A rollback's bundle, already built for one Python, is placed only on appservers offering that minor version, and
/// refused at placement when no live appserver does.
@Suite struct BundlePythonTests {
    private func beat(_ host: String, pythons: String?, age: Double = 0) throws -> Heartbeat {
        var beat = Heartbeat(host: try HostID(host), pid: 1, version: "t", queues: [try QueueName("appserver_" + host)],
                             running: [], concurrency: 1, started: .now())
        beat.updated = Timestamp.now() + -age
        if let pythons { beat.facts[PlacementFacts.pythons] = pythons }
        return beat
    }

    @Test func appserversLackingTheBundlesPythonAreLeftOutAndNoneOfferingItRefuses() throws {
        let python = try #require(BundlePython("3.12.4"))
        #expect(python.minor == "3.12")
        let mixed = python.verdict([try beat("app1", pythons: "3.11"), try beat("app2", pythons: "3.11,3.12")])
        #expect(mixed == BundlePython.Verdict(lacking: ["app1"], refusal: nil))
        let none = python.verdict([try beat("app1", pythons: "3.11"), try beat("app2", pythons: "3.10,3.11")])
        #expect(none.lacking == ["app1", "app2"])
        #expect(none.refusal?.hasPrefix("the bundle was built for Python 3.12 and no live appserver offers it (app1 3.11; "
            + "app2 3.10, 3.11): install Python 3.12 on an appserver") == true, "\(none)")
        #expect(python.verdict([try beat("app1", pythons: "3.11"), try beat("app2", pythons: nil)]).refusal == nil,
                "an appserver of an older dz is not judged")
        #expect(python.verdict([try beat("app1", pythons: "3.11"), try beat("app2", pythons: "3.12", age: 120)])
            .refusal != nil, "a stale heartbeat offers nothing")
        for bad in ["3", "3.x", "", "3.12.4.1", "..", "3.١٢"] { #expect(BundlePython(bad) == nil, "\(bad)") }
    }
}

@Suite struct DatabaseDemandTests {
    private func database(_ host: String, engines: String?) throws -> Heartbeat {
        var beat = Heartbeat(host: try HostID(host), pid: 1, version: "t", queues: [try QueueName("database")],
                             running: [], concurrency: 1, started: .now())
        beat.facts[PlacementFacts.databaseEngine] = "sqlite"
        if let engines { beat.facts[PlacementFacts.databaseEngines] = engines }
        return beat
    }

    @Test func aDemandNoDatabaseHostMeetsNamesBothFixes() throws {
        let demand = DatabaseDemand(engine: .postgresql, postgis: false, basis: "database_type postgresql in zoombuild.cfg")
        let problem = try #require(demand.problem([try database("db1", engines: "sqlite")]))
        #expect(problem == "the project demands PostgreSQL (database_type postgresql in zoombuild.cfg) and no database "
            + "host provides it (db1: sqlite): deploy with --db-engine sqlite or remove database_type from "
            + "zoombuild.cfg, or give a database host a PostgreSQL server (dz agent --pg-admin-host HOST)")
        #expect(demand.problem([try database("db1", engines: "sqlite"), try database("db2", engines: "sqlite,postgresql")])
            == nil)
        #expect(demand.problem([try database("db1", engines: nil)]) == nil, "an older dz is not judged")
        #expect(DatabaseDemand(engine: .sqlite, postgis: false, basis: "").problem([try database("db1", engines: "sqlite")])
            == nil)
        let gis = try #require(DatabaseDemand(engine: .postgresql, postgis: true, basis: "database_type postgis in zoombuild.cfg")
            .problem([try database("db1", engines: "sqlite")]))
        #expect(gis.hasPrefix("the project demands PostGIS") && !gis.contains("--db-engine sqlite"))
    }
}

@Suite struct PipFailureTests {
    @Test func aResolutionConflictIsReducedToThePackagesAndConstraints() {
        let output = """
            Collecting django==5.0
              Downloading Django-5.0-py3-none-any.whl
            INFO: pip is looking at multiple versions of wagtail to determine which version is compatible.
            ERROR: Cannot install -r /tmp/dz-requirements.txt (line 1) and django==5.0 because these package versions have conflicting dependencies.

            The conflict is caused by:
                The user requested django==5.0
                wagtail 5.2 depends on Django<5.0 and >=3.2

            To fix this you could try to:
            1. loosen the range of package versions you've specified
            2. remove package versions to allow pip to attempt to solve the dependency conflict

            ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts
            """
        #expect(PipFailure.cause(of: output) == [
            "The user requested django==5.0", "wagtail 5.2 depends on Django<5.0 and >=3.2",
            "Cannot install -r /tmp/dz-requirements.txt (line 1) and django==5.0 because these package versions have conflicting dependencies.",
            "ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-resolution/#dealing-with-dependency-conflicts",
        ])
        let message = PipFailure.message(output: output, tail: "", log: "/var/lib/dz/builds/b.pip.log")
        #expect(message.hasPrefix("pip install failed: The user requested django==5.0; wagtail 5.2 depends on Django<5.0"))
        #expect(message.hasSuffix("(pip's whole output: /var/lib/dz/builds/b.pip.log on the build host)"))
    }

    @Test func aMissingDistributionKeepsOnlyTheLastVersions() {
        let versions = (0..<300).map { "1.\($0)" }.joined(separator: ", ")
        let output = """
            ERROR: Ignored the following versions that require a different python version: 5.0 Requires-Python >=3.10; 5.0.1 Requires-Python >=3.10; 5.1 Requires-Python >=3.10; 5.2 Requires-Python >=3.12
            ERROR: Could not find a version that satisfies the requirement django==9.9 (from versions: \(versions))
            ERROR: No matching distribution found for django==9.9
            """
        let cause = PipFailure.cause(of: output)
        #expect(cause.count == 3)
        #expect(cause[0].hasPrefix("Ignored the following versions that require a different python version: 5.0 Requires-Python >=3.10; ...;"))
        #expect(cause[1] == "Could not find a version that satisfies the requirement django==9.9 (versions: ..., 1.295, 1.296, 1.297, 1.298, 1.299)")
        #expect(cause[2] == "No matching distribution found for django==9.9")
        #expect(PipFailure.cause(of: "Traceback\nboom\n").isEmpty)
        #expect(PipFailure.message(output: "boom", tail: "boom", log: nil) == "pip install failed:\nboom")
    }
}
