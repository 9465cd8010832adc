import DZJobs
import DZSpool
import DZStore
import DZSystem
import Testing

/// Project `shop` after a few deploys, as the lifecycle kinds (rollback, config, hostnames, scale, recover) see it
/// in their facts: release 4 (bundle_shop_2) is current, release 1 (bundle_shop_1) is an earlier one; three
/// instances of the current release run on app1 and app2, and a leftover of release 1 on app3.
enum ShopFixture {
    static let current = ReleaseRecord(
        project: "shop", number: 4, kind: "build_and_deploy", bundle: "bundle_shop_2", sha256: "bbb", revision: "r2",
        wsgi: "shop.wsgi", staticFiles: .array([.object(["url": .string("/static/"), "path": .string("static")])]),
        hostnames: ["shop.localhost"], configVersion: 3, instances: 2, workers: 2, result: "succeeded", job: "J4")

    static let earlier = ReleaseRecord(
        project: "shop", number: 1, kind: "build_and_deploy", bundle: "bundle_shop_1", sha256: "aaa", revision: "r1",
        wsgi: "shop.old_wsgi", staticFiles: .array([.object(["url": .string("/assets/"), "path": .string("assets")])]),
        hostnames: ["old.shop.localhost"], configVersion: 1, instances: 1, workers: 4, clientMaxBodySize: "10m",
        result: "succeeded", job: "J1")

    static func instance(_ bundle: String, _ appserver: String, _ address: String, _ port: Int) -> JSONValue {
        .object(["project": .string("shop"), "bundle": .string(bundle), "appserver": .string(appserver),
                 "instance": .string("\(bundle).\(appserver).\(port)"), "address": .string(address),
                 "port": .int(Int64(port))])
    }

    /// The running instances, oldest first.
    static let active: [JSONValue] = [
        instance("bundle_shop_2", "app1", "10.0.0.1", 10001),
        instance("bundle_shop_2", "app2", "10.0.0.2", 10001),
        instance("bundle_shop_1", "app3", "10.0.0.3", 10001),
        instance("bundle_shop_2", "app1", "10.0.0.1", 10002),
    ]

    /// What `ReleaseSteps.facts` would read: the host names, environment and formation wanted now differ from both
    /// releases'.
    static let facts: [String: JSONValue] = [
        "current": .object(current.jsonObject),
        "hostnames": .array([.string("shop.example.com"), .string("shop.localhost")]),
        "environment": .object(["GREETING": .string("hello")]),
        "config_version": .int(5),
        "formation": .object(["instances": .int(2), "workers": .int(3)]),
        "instances": .object(["app1": .int(2), "app2": .int(1), "app3": .int(1)]),
        "active": .array(active),
        "taken_hostnames": .object(["blog.example.com": .string("blog")]),
        "secret_key": .string("s3cret"),
        "app_user": .object(["name": .string("dz_shop"), "uid": .int(70123)]),
        "database": .object(["engine": .string("postgresql"), "name": .string("shop"), "password": .string("pw")]),
    ]

    static func job(_ kind: String, _ params: [String: JSONValue] = [:]) -> JobRecord {
        JobRecord(id: "L1", kind: kind, project: "shop", params: params, issuedBy: "alice", issuedAt: .now())
    }

    /// The output of a deploy that started `bundle` on `appserver`.
    static func deployed(_ bundle: String, _ appserver: String, _ port: Int) -> [String: JSONValue] {
        ["appserver": .string(appserver), "instance": .string("\(bundle).\(appserver).\(port)"),
         "bundle": .string(bundle),
         "address": .string("10.0.1.\(appserver.last ?? "0")"), "port": .int(Int64(port))]
    }

    /// Runs a kind made of the release steps up to proxy_update: placement chooses app2 and app3, both deploys
    /// of `bundle` start, the hooks and health checks pass. A job that cannot start is returned as it failed.
    static func throughHealthCheck(_ coordinator: HandCoordinator, _ job: JobRecord, bundle: String)
        -> (JobRecord, [StepRecord])
    {
        var (job, steps) = coordinator.settle(job, [])
        guard job.stopping == nil else { return (job, steps) }
        if steps.contains(where: { $0.name == "stage_static" }) {
            // The release steps stage the static files on the proxy from the start, beside placement.
            #expect(steps.running == ["placement", "stage_static"])
            #expect(steps.first { $0.name == "stage_static" }?.queue == "proxy")
            #expect((try? steps.args("stage_static"))?["bundle"] == .string(bundle))
            steps.succeed("stage_static", ["bundle": .string(bundle), "state": .string("here"),
                                           "fetched": .bool(false)], host: "frontend")
        }
        steps.succeed("placement", ["appservers": .array([.string("app2"), .string("app3")])])
        (job, steps) = coordinator.settle(job, steps)
        return startedAndHealthy(coordinator, job, steps, bundle: bundle)
    }

    /// Reports both deploys of `bundle` (on app2 and app3) started, then the hooks (where the kind has them) and
    /// both health checks passed.
    static func startedAndHealthy(_ coordinator: HandCoordinator, _ job: JobRecord, _ steps: [StepRecord],
                                  bundle: String) -> (JobRecord, [StepRecord])
    {
        var (job, steps) = (job, steps)
        steps.succeed("deploy.0", deployed(bundle, "app2", 10005))
        steps.succeed("deploy.1", deployed(bundle, "app3", 10006))
        (job, steps) = coordinator.settle(job, steps)
        if steps.contains(where: { $0.name == "post_deploy_hooks" }) {
            steps.succeed("post_deploy_hooks")
            (job, steps) = coordinator.settle(job, steps)
        }
        #expect(steps.running == ["health_check.0", "health_check.1"])
        steps.succeed("health_check.0")
        steps.succeed("health_check.1")
        return coordinator.settle(job, steps)
    }
}
