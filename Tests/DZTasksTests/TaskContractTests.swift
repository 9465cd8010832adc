import DZSpool
import DZTasks
import Testing

@Suite struct TaskContractTests {
    static let hello = try! ProjectID("hello")
    static let names = [try! Hostname("hello.example.com"), try! Hostname("www.hello.example.com")]

    @Test func deployArgumentsSurviveTheirOwnJSON() throws {
        var args = DeployTask.Arguments(project: Self.hello, bundle: "hello-20260101T000000Z-abc", appserver: "app1",
                                        wsgi: "hello.wsgi:application", hostnames: Self.names, workers: 3)
        args.sha256 = String(repeating: "a", count: 64)
        args.database = ["engine": .string("sqlite"), "name": .string("/var/lib/dz/hello.sqlite3")]
        args.environment = ["FEATURE": "on"]
        args.secretKey = "k"
        args.healthPath = "/up"
        args.healthTimeout = 30
        args.health = .live
        args.appUser = AppUserAllocation(name: "dz_hello", uid: 70001)
        args.limits = ["memory": .int(1 << 28)]
        #expect(try DeployTask.Arguments(json: args.json) == args)
        #expect(Set(args.json.keys).isSubset(of: DeployTask.Arguments.keys))
    }

    @Test func deployOutputSurvivesItsOwnJSON() throws {
        var output = DeployTask.Output(instance: "hello.app1.x", appserver: "app1", address: "127.0.0.1", port: 20001,
                                       bundle: "b", project: "hello", user: "dz_hello", pid: 42, workers: 2,
                                       adopted: false)
        output.mediaRoot = "/srv/apps/.media/hello"
        output.limits = ["enforced_by": .string("cgroup-v1")]
        #expect(try DeployTask.Output(json: output.json) == output)
    }

    @Test func proxyUpdateArgumentsAndOutputSurviveTheirOwnJSON() throws {
        var args = ProxyUpdateTask.Arguments(
            project: Self.hello, bundle: "b", hostnames: Self.names,
            upstreams: [.init(address: "127.0.0.1", port: 20001), .init(address: "::1", port: 20002)],
            staticFiles: [.init(url: "/static/", path: "static")])
        args.mediaURL = "/media/"
        args.clientMaxBodySize = "50m"
        #expect(try ProxyUpdateTask.Arguments(json: args.json) == args)
        let output = ProxyUpdateTask.Output(site: "/etc/nginx/sites/hello.conf", bundle: "b", hostnames: ["a.test"],
                                            upstreams: args.upstreams, urls: ["http://a.test/"],
                                            staticFiles: [["url": .string("/static/")]], removedStatic: ["old"],
                                            media: nil)
        #expect(try ProxyUpdateTask.Output(json: output.json) == output)
    }

    @Test func healthCheckArgumentsSurviveTheirOwnJSON() throws {
        var args = HealthCheckTask.Arguments(project: Self.hello, instance: "hello.app1.x", hostnames: Self.names)
        args.healthTimeout = 5
        #expect(try HealthCheckTask.Arguments(json: args.json) == args)
        #expect(try HealthCheckTask.Output(json: HealthCheckTask.Output(instance: "i", status: 200).json).status == 200)
    }

    /// What a task dropped by hand may hold: numbers as strings, host names as one comma-separated string.
    @Test func handWrittenSpellingsAreRead() throws {
        let args = try DeployTask.Arguments(json: [
            "project": "hello", "bundle": "b", "appserver": "app1", "wsgi": "hello.wsgi",
            "hostnames": "a.example.com, b.example.com", "workers": "4", "health_timeout_s": "10",
        ])
        #expect(args.hostnames.map(\.rawValue) == ["a.example.com", "b.example.com"])
        #expect(args.workers == 4 && args.healthTimeout == 10)
        let proxy = try ProxyUpdateTask.Arguments(json: [
            "project": "hello", "bundle": "b", "hostnames": ["a.example.com"],
            "upstreams": [["address": "127.0.0.1", "port": "8000"]], "client_max_body_size": 1024,
        ])
        #expect(proxy.upstreams == [.init(address: "127.0.0.1", port: 8000)] && proxy.clientMaxBodySize == "1024")
    }

    static let deployBase: [String: JSONValue] = [
        "project": "hello", "bundle": "b", "appserver": "app1", "wsgi": "w", "hostnames": ["a.test"],
    ]

    /// Each case sets one key of an otherwise valid deploy (nil: removes it), and the message it must give.
    static let deployRefusals: [(key: String, value: JSONValue?, message: String)] = [
        ("project", nil, "missing argument \"project\""),
        ("project", 7, "argument \"project\" must be a string, not number"),
        ("hostnames", nil, "argument \"hostnames\": needs at least one host name"),
        ("workers", 33, "workers must be a whole number from 1 to 32"),
        ("workers", 2.5, "workers must be a whole number from 1 to 32"),
        ("health_timeout_s", 0, "health_timeout_s must be from 1 to 3600"),
        ("health", "sort-of", "health must be healthy or live, not \"sort-of\""),
        ("environment", ["A": 1], "argument \"environment\" must be an object of strings: A is a number"),
        ("app_user", ["name": "root", "uid": 0],
         "app_user.uid must be from 1000 to 2147483647 (not 65534 or 65535), not 0"),
    ]

    @Test func deployArgumentsThatBreakTheContractAreRefusedNamingTheKey() {
        for refusal in Self.deployRefusals {
            var object = Self.deployBase
            object[refusal.key] = refusal.value
            #expect(throws: ContractViolation(refusal.message), "\(refusal.key)") {
                try DeployTask.Arguments(json: object)
            }
        }
    }

    @Test func proxyUpdateWithoutUpstreamsIsRefused() {
        let base: [String: JSONValue] = ["project": "hello", "bundle": "b", "hostnames": ["a.test"]]
        #expect(throws: ContractViolation("argument \"upstreams\": missing")) {
            try ProxyUpdateTask.Arguments(json: base)
        }
        #expect(throws: ContractViolation("argument \"upstreams\": needs at least one server")) {
            try ProxyUpdateTask.Arguments(json: base.merging(["upstreams": []]) { $1 })
        }
        #expect(throws: ContractViolation("argument \"upstreams\": each server needs a \"port\" number")) {
            try ProxyUpdateTask.Arguments(json: base.merging(["upstreams": [["address": "h", "port": "80x"]]]) { $1 })
        }
    }

    @Test func stopInstancesKeepsOrderDropsRepeatsAndRefusesAnIdThatCouldBeAPath() throws {
        let args = try StopInstancesTask.Arguments(json: ["project": "hello", "instances": ["b", "a", "b"],
                                                          "grace_s": 5, "remove_bundles": false])
        #expect(args.instances == ["b", "a"] && args.grace == 5 && args.removeBundles == false)
        #expect(try StopInstancesTask.Arguments(json: args.json) == args)
        #expect(throws: ContractViolation("instance ids are [A-Za-z0-9._-], not \"../etc\"")) {
            try StopInstancesTask.Arguments(json: ["project": "hello", "instances": ["../etc"]])
        }
        #expect(throws: ContractViolation("grace_s must be from 0 to 3600")) {
            try StopInstancesTask.Arguments(json: ["project": "hello", "instances": [], "grace_s": -1])
        }
    }

    @Test func databaseTasksSurviveTheirOwnJSONAndTheOutputKeepsThePasswordOnlyWhereItIs() throws {
        let create = CreateDatabaseTask.Arguments(project: Self.hello, engine: "postgresql", postgis: true)
        #expect(try CreateDatabaseTask.Arguments(json: create.json) == create)
        let output = CreateDatabaseTask.Output(engine: "postgresql", host: "db1", port: 5432, name: "dz_hello",
                                               user: "dz_hello", password: "s3cret", justCreated: true,
                                               passwordReset: false, postgis: true)
        #expect(try CreateDatabaseTask.Output(json: output.json) == output)
        let sqlite = CreateDatabaseTask.Output(engine: "sqlite", host: nil, port: nil, name: "/apps/hello/db.sqlite3",
                                               user: nil, password: nil, justCreated: false, passwordReset: false,
                                               postgis: false)
        #expect(sqlite.json["password"] == .null)
        #expect(throws: ContractViolation("argument \"postgis\" must be a boolean, not string")) {
            try CreateDatabaseTask.Arguments(json: ["project": "hello", "postgis": "yes"])
        }
    }

    @Test func placementReadsCountsAndExclusionsAndRefusesNegativeCounts() throws {
        var args = PlacementTask.Arguments(count: 2)
        args.instances = ["app1": 3]
        args.exclude = ["app2"]
        args.database = SQLiteDatabaseLocation(engine: "sqlite", name: "/d/apps/hello/db.sqlite3", host: "db1")
        args.python = "3.11"
        args.hostnames = ["hello.example.com"]
        #expect(try PlacementTask.Arguments(json: args.json) == args)
        #expect(throws: ContractViolation("instances must map appserver ids to counts")) {
            try PlacementTask.Arguments(json: ["instances": ["app1": -1]])
        }
    }
}
