@testable import DZDeploy
@testable import DZWork
import Testing

/// A health check that answers with a redirect off the site (HTTPS behind an HTTP proxy, another host) is not
/// healthy, and says which setting does it.
@Suite struct HealthRedirectTests {
    private func answer(_ head: String, host: String = "shop.test") -> HealthProbe.Result {
        HealthProbe.parseStatus(Array(head.utf8), host: host)
    }

    @Test func aRedirectToHTTPSIsUnhealthyAndNamesSecureSSLRedirect() {
        let result = answer("HTTP/1.1 301 Moved Permanently\r\nContent-Type: text/html\r\nLocation: https://shop.test/\r\n\r\n")
        guard case .redirect(301, let location, let problem) = result else { Issue.record("\(result)"); return }
        #expect(location == "https://shop.test/")
        #expect(problem.contains("SECURE_SSL_REDIRECT"))
        #expect(!result.meets(.healthy) && result.meets(.answering) && !result.isHealthy)
    }

    @Test func aRedirectToAnotherHostIsUnhealthyAndNamesTheHost() {
        for location in ["http://www.shop.test/", "//www.shop.test/x", "http://user@www.shop.test:8080/"] {
            let result = answer("HTTP/1.0 302 Found\r\nlocation: \(location)\r\n\r\n")
            guard case .redirect(302, _, let problem) = result else { Issue.record("\(location): \(result)"); continue }
            #expect(problem.contains("another host, www.shop.test"), "\(problem)")
            #expect(problem.contains("dz hostnames add"))
        }
    }

    @Test func aRedirectWithinTheSiteIsHealthy() {
        for location in ["/accounts/login/?next=/", "http://shop.test/en/", "http://SHOP.test:8080/", "en/"] {
            #expect(answer("HTTP/1.1 302 Found\r\nLocation: \(location)\r\n\r\n") == .status(302), "\(location)")
        }
        #expect(answer("HTTP/1.1 200 OK\r\nLocation: https://elsewhere/\r\n\r\n") == .status(200), "not a redirect")
        #expect(answer("HTTP/1.1 301 Moved\r\n\r\n") == .status(301), "no Location")
    }
}
