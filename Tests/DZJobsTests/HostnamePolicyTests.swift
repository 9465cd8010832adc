import DZJobs
import DZSpool
import Foundation
import Testing

/// Which host names a project may have (`HostnamePolicy`, `PublicSuffixList`, `Hostname.overlaps`).
@Suite struct HostnamePolicyTests {
    /// The policy with Debian's public suffix list (the `publicsuffix` package, which CI installs).
    static let policy: HostnamePolicy = {
        guard let list = try? PublicSuffixList(contentsOf: PublicSuffixList.debianPath) else {
            return HostnamePolicy()
        }
        return HostnamePolicy(suffixes: list)
    }()

    func refusal(_ name: String, project: String = "shop", policy: HostnamePolicy = Self.policy) -> String? {
        do {
            _ = try policy.check(name, project: project)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func theDebianListIsInstalledAndRead() throws {
        let list = try PublicSuffixList(contentsOf: PublicSuffixList.debianPath)
        #expect(list.count > 5000, "the whole list: \(list.count) rules")
    }

    @Test func publicSuffixesAndWildcardsOverThemAreRefused() {
        for name in ["com", "COM", "co.uk", "github.io", "*.com", "*.co.uk", "*.github.io", "*.uk", "s3.amazonaws.com",
                     "test", "*.test", "intranet", "foo.kawasaki.jp"] {
            let message = refusal(name)
            #expect(message?.contains("public suffix") == true, "\(name): \(message ?? "accepted")")
        }
        for name in ["shop.example.com", "*.example.com", "shop.co.uk", "*.shop.co.uk", "me.github.io",
                     "*.me.github.io", "hello.test", "city.kawasaki.jp", "a.b.example.com"] {
            #expect(refusal(name) == nil, "\(name): \(refusal(name) ?? "")")
        }
        #expect(refusal("*.com")?.contains("a wildcard over the public suffix com") == true)
        for name in ["*.amazonaws.com", "*.kawasaki.jp", "*.jp"] {
            #expect(refusal(name)?.contains("public suffix") == true, "\(name): \(refusal(name) ?? "accepted")")
        }
        #expect(refusal("kawasaki.jp") == nil, "a registrable domain with suffixes under it")
        #expect(refusal("shop.amazonaws.com") == nil)
    }

    @Test func internationalisedSuffixesAreMatchedInTheirASCIIForm() throws {
        // 公司.cn and 个人.hk are on the list in Unicode; host names reach dz as Punycode.
        #expect(refusal("xn--55qx5d.cn")?.contains("public suffix") == true)
        #expect(refusal("*.xn--ciqpn.hk")?.contains("public suffix") == true)
        #expect(refusal("shop.xn--55qx5d.cn") == nil)
        let list = PublicSuffixList(lines: ["bücher.example", "// a comment", "*.münchen.example", "!www.münchen.example"])
        #expect(list.isPublicSuffix("xn--bcher-kva.example"))
        #expect(list.isPublicSuffix("x.xn--mnchen-3ya.example"), "under the wildcard rule")
        #expect(!list.isPublicSuffix("www.xn--mnchen-3ya.example"), "the exception")
        #expect(!list.isPublicSuffix("a.xn--bcher-kva.example"))
    }

    @Test func ipAddressesAreRefused() {
        for name in ["127.0.0.1", "10.1", "0x7f.1", "0x7f000001", "2130706433", "*.1.2.3.4", "::1", "[::1]",
                     "fe80::1", "[2001:db8::1]", "shop.example.0x1"] {
            let message = refusal(name)
            #expect(message?.contains("IP") == true, "\(name): \(message ?? "accepted")")
        }
        #expect(refusal("1.example.com") == nil, "a number before the last label is a name")
        #expect(refusal("shop.example.x1") == nil)
    }

    @Test func localhostAndAnotherProjectsLocalNamesAreRefused() {
        for name in ["localhost", "LOCALHOST", "*.localhost", "localhost.localdomain", "blog.localhost",
                     "*.blog.localhost", "shopping.localhost", "www.blog.localhost"] {
            #expect(refusal(name, project: "shop") != nil, "\(name) for shop")
        }
        #expect(refusal("localhost")?.contains("the machine itself") == true)
        #expect(refusal("blog.localhost")?.contains("shop may use shop.localhost") == true)
        for name in ["shop.localhost", "SHOP.localhost", "www.shop.localhost", "*.shop.localhost"] {
            #expect(refusal(name, project: "shop") == nil, "\(name) for shop: \(refusal(name) ?? "")")
        }
        #expect(refusal("my-shop.localhost", project: "my_shop") == nil)
        #expect(HostnamePolicy.developmentName(of: "my_shop") == "my-shop.localhost")
    }

    @Test func withoutAListEverySingleLabelIsStillASuffix() {
        let bare = HostnamePolicy()
        #expect(refusal("com", policy: bare) != nil)
        #expect(refusal("*.com", policy: bare) != nil)
        #expect(refusal("127.0.0.1", policy: bare) != nil)
        #expect(refusal("shop.example.com", policy: bare) == nil)
    }

    @Test func aMissingOrWrongListIsAnErrorThatSaysHowToGetOne() throws {
        #expect(throws: BadInput.self) { try PublicSuffixList(contentsOf: "/nonexistent/public_suffix_list.dat") }
        do { _ = try PublicSuffixList(contentsOf: "/nonexistent/list.dat") } catch {
            #expect(error.message.contains("apt-get install publicsuffix"), "\(error.message)")
        }
        let path = NSTemporaryDirectory() + "dz-psl-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("// just a comment\nexample\n".utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try PublicSuffixList(contentsOf: path)
            Issue.record("a list without com was accepted")
        } catch {
            #expect(error.message.contains("does not look like the public suffix list"), "\(error.message)")
        }
        #expect(PublicSuffixList.path(explicit: nil, environment: [:]) == PublicSuffixList.debianPath)
        #expect(PublicSuffixList.path(explicit: nil, environment: ["DZ_PUBLIC_SUFFIX_LIST": "/x"]) == "/x")
        #expect(PublicSuffixList.path(explicit: "/y", environment: ["DZ_PUBLIC_SUFFIX_LIST": "/x"]) == "/y")
    }

    @Test func namesOverlapWhenOneIsUnderTheOthersWildcard() throws {
        func overlap(_ a: String, _ b: String) throws -> Bool {
            let (x, y) = (try Hostname(a), try Hostname(b))
            #expect(x.overlaps(y) == y.overlaps(x), "symmetric: \(a) \(b)")
            return x.overlaps(y)
        }
        #expect(try overlap("shop.example.com", "SHOP.example.com"))
        #expect(try overlap("*.example.com", "shop.example.com"))
        #expect(try overlap("*.example.com", "a.b.example.com"), "nginx's wildcard matches deeper names too")
        #expect(try overlap("*.example.com", "*.shop.example.com"))
        #expect(try !overlap("*.example.com", "example.com"), "a wildcard does not match the name itself")
        #expect(try !overlap("*.example.com", "badexample.com"))
        #expect(try !overlap("*.example.com", "*.xample.com"))
        #expect(try !overlap("shop.example.com", "blog.example.com"))
    }
}
