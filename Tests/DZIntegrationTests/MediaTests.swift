import DZSpool
import DZSystem
import DZTestSupport
import Foundation
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension Integration {
    /// Uploaded media through a real coordinator, builder, appserver (also the proxy's host), nginx and PostgreSQL:
    /// what the app stores with Django's storage lives in its media directory outside every release, nginx serves
    /// it at MEDIA_URL, and it outlives redeploys, rollbacks and undeploy unless the data is dropped.
    @Suite(.serialized) struct MediaTests {
        /// The fixture app's views: one saves an uploaded file with `default_storage`, one lists what is stored.
        static let uploads = """
            from django.core.files.storage import default_storage
            from django.http import HttpResponse, HttpResponseBadRequest
            from django.views.decorators.csrf import csrf_exempt


            @csrf_exempt
            def upload(request):
                if request.method != "POST" or "file" not in request.FILES:
                    return HttpResponseBadRequest("POST a file as 'file'")
                upload = request.FILES["file"]
                name = default_storage.save("uploads/" + upload.name, upload)
                return HttpResponse(default_storage.url(name))


            def listing(request):
                _, files = default_storage.listdir("uploads") if default_storage.exists("uploads") else ([], [])
                return HttpResponse(RELEASE + ":" + ",".join(sorted(files)))


            RELEASE = "one"
            """

        static let urls = """
            from django.urls import path

            from greetings import views
            from hello import uploads

            urlpatterns = [
                path("", views.index, name="index"),
                path("upload", uploads.upload),
                path("uploads", uploads.listing),
            ]
            """

        @Test(.timeLimit(.minutes(30)), .enabled(if: getuid() == 0))
        func aStoredUploadIsServedByNginxAcrossRedeployAndRollbackAndOutlivesUndeployUnlessDataIsDropped()
            async throws
        {
            try await DeployTests.Cluster.with(appPorts: ["app1": "26000-26999"], appservers: ["app1"],
                                               proxyHost: "app1") { cluster in
                try cluster.write(Self.uploads, to: "hello/uploads.py")
                try cluster.write(Self.urls, to: "hello/urls.py")
                try await cluster.commit("uploads")
                let (_, first) = try await cluster.deploy()
                #expect(first.status == 0, "\(first)")

                // Release 1 stores a file through Django's storage; nginx serves it at MEDIA_URL (/media/, the
                // default, since the project leaves MEDIA_URL empty). Django (DEBUG off) serves no media itself.
                let content = "uploaded by release one \(UInt32.random(in: 0...UInt32.max))\n"
                let url = try await upload(content, named: "first.txt", to: cluster)
                #expect(url == "/media/uploads/first.txt", "\(url)")
                let served = try await NginxServer.get(url, host: DeployTests.hostname, port: cluster.nginx.port)
                #expect(served.status == 200 && served.body == content, "\(served)")
                #expect(served.headers["x-content-type-options"] == "nosniff", "\(served.headers)")

                // On disk: the app's media directory, outside the release, the app's user's, nginx's group's.
                let media = cluster.spool.directory + "/var-app1/apps/.media/hello"
                let app = try #require(UserDatabase.user(named: "dz_hello"))
                let nginxGroup = try #require(UserDatabase.group(named: "www-data"))
                let directory = try #require(Self.ownership(media))
                #expect(directory.uid == app.uid && directory.gid == nginxGroup.gid, "\(directory)")
                #expect(directory.mode == 0o2750, "mode \(String(directory.mode, radix: 8))")
                let file = try #require(Self.ownership(media + "/uploads/first.txt"))
                #expect(file.uid == app.uid && file.gid == nginxGroup.gid, "\(file)")

                // A link the app makes there to a file that is not its own is not followed by nginx.
                #expect(symlink("/etc/passwd", media + "/uploads/passwd.txt") == 0)
                #expect(lchown(media + "/uploads/passwd.txt", app.uid, app.gid) == 0)
                let linked = try await NginxServer.get("/media/uploads/passwd.txt", host: DeployTests.hostname,
                                                       port: cluster.nginx.port)
                #expect(linked.status == 403 && !linked.body.contains("root:"), "\(linked)")
                try FileSystem.unlink(media + "/uploads/passwd.txt")

                // Release 2 (another bundle) still has the file, and nginx still serves it.
                try cluster.write(Self.uploads.replacingOccurrences(of: "RELEASE = \"one\"", with: "RELEASE = \"two\""),
                                  to: "hello/uploads.py")
                try await cluster.commit("release two")
                let (_, second) = try await cluster.deploy()
                #expect(second.status == 0, "\(second)")
                #expect(await cluster.get("/uploads") == (200, "two:first.txt"))
                let afterRedeploy = try await NginxServer.get(url, host: DeployTests.hostname, port: cluster.nginx.port)
                #expect(afterRedeploy.status == 200 && afterRedeploy.body == content, "\(afterRedeploy)")

                // A rollback to release 1's bundle: the file is there and served.
                let rollback = try await cluster.spool.dz(["rollback", "--project", "hello"], timeout: 600)
                #expect(rollback.status == 0, "\(rollback)")
                #expect(await cluster.get("/uploads") == (200, "one:first.txt"))
                let afterRollback = try await NginxServer.get(url, host: DeployTests.hostname, port: cluster.nginx.port)
                #expect(afterRollback.status == 200 && afterRollback.body == content, "\(afterRollback)")

                // undeploy keeps the media; undeploy --drop-data removes them.
                let undeploy = try await cluster.spool.dz(["undeploy", "--project", "hello"], timeout: 300)
                #expect(undeploy.status == 0, "\(undeploy)")
                #expect(try String(contentsOfFile: media + "/uploads/first.txt", encoding: .utf8) == content)
                let drop = try await cluster.spool.dz(["undeploy", "--project", "hello", "--drop-data"], timeout: 300)
                #expect(drop.status == 0, "\(drop)")
                #expect(!FileSystem.exists(media), "\(media) is gone")
                #expect(((try? FileSystem.names(in: cluster.spool.directory + "/var-app1/apps/.media")) ?? [])
                    .isEmpty, "nothing is left aside")
            }
        }

        /// The owner, group and permission bits of `path` itself (`lstat`).
        static func ownership(_ path: String) -> (uid: UInt32, gid: UInt32, mode: UInt32)? {
            var st = stat()
            guard lstat(path, &st) == 0 else { return nil }
            return (st.st_uid, st.st_gid, UInt32(st.st_mode) & 0o7777)
        }

        /// POSTs `content` as the file `name` (multipart, as a browser's form sends it) to the app through nginx,
        /// and returns the URL the app answers with.
        func upload(_ content: String, named name: String, to cluster: DeployTests.Cluster) async throws -> String {
            try await Self.upload(content, named: name, port: cluster.nginx.port, scratch: cluster.spool.directory)
        }

        /// POSTs `content` as the file `name` to whatever serves the app on 127.0.0.1:`port` (nginx, or one
        /// instance's gunicorn), the file written first in `scratch`; returns the URL the app answers with.
        static func upload(_ content: String, named name: String, port: Int, scratch: String) async throws -> String {
            let path = scratch + "/" + name
            try content.write(toFile: path, atomically: true, encoding: .utf8)
            let outcome = try await Subprocess.run(
                ["/usr/bin/curl", "-sS", "--max-time", "30", "-H", "Host: " + DeployTests.hostname,
                 "-F", "file=@" + path, "-w", "\n%{http_code}",
                 "http://127.0.0.1:\(port)/upload"],
                environment: ["PATH": "/usr/bin:/bin"], timeout: 60)
            let lines = outcome.stdoutText.split(separator: "\n", omittingEmptySubsequences: false)
            guard outcome.succeeded, lines.last == "200", lines.count >= 2 else {
                throw SetupFailure("the upload failed: \(outcome.stdoutText) \(outcome.tail())")
            }
            return String(lines[lines.count - 2])
        }
    }
}
