import DZSource
import DZWork
import Testing

@Suite struct ZoombuildConfigTests {
    typealias Config = ZoombuildConfig

    /// Every key set.
    static var full: Config {
        var config = Config()
        config.sourceCodeURL = "https://github.com/example/mysite.git"
        config.title = "My Site (staging); the \"real\" one"
        config.djangoVersion = "4.2"
        config.databaseType = .postgis
        config.basePythonPackage = "mysite"
        config.djangoSettingsModule = "mysite.settings.prod"
        config.siteMediaMap = [
            .init(url: "/static/", path: "staticfiles"),
            .init(url: "/media/", path: "media"),
            .init(url: "admin-media", path: "{SITE_PACKAGES}/django/contrib/admin/static"),
        ]
        config.additionalPythonPathDirs = ["src", "src/apps"]
        config.requirementsFiles = ["requirements.txt", "requirements/prod.txt"]
        config.extraRequirements = ["gunicorn>=21", "psycopg[binary]==3.1.18", "tomli; python_version < \"3.11\""]
        config.pythonVersion = "3.12"
        config.packageManager = "pip"
        config.wsgiModule = "mysite.wsgi:application"
        config.managePy = "src/manage.py"
        config.procfileWeb = "gunicorn mysite.wsgi --log-file -"
        config.procfileRelease = "python manage.py migrate --noinput"
        config.numWorkers = 4
        config.hostnames = ["www.example.com", "example.com", "*.example.org"]
        return config
    }

    static let fullText = """
        [project]
        source_code_url = https://github.com/example/mysite.git
        title = My Site (staging); the "real" one
        django_version = 4.2
        database_type = postgis
        base_python_package = mysite
        django_settings_module = mysite.settings.prod
        site_media_map =
            /static/ staticfiles
            /media/ media
            admin-media {SITE_PACKAGES}/django/contrib/admin/static
        additional_python_path_dirs =
            src
            src/apps
        requirements_files =
            requirements.txt
            requirements/prod.txt
        extra_requirements =
            gunicorn>=21
            psycopg[binary]==3.1.18
            tomli; python_version < "3.11"
        python_version = 3.12
        package_manager = pip
        wsgi_module = mysite.wsgi:application
        manage_py = src/manage.py
        procfile_web = gunicorn mysite.wsgi --log-file -
        procfile_release = python manage.py migrate --noinput
        num_workers = 4
        hostnames =
            www.example.com
            example.com
            *.example.org

        """

    /// The original's test fixture (tests/fixtures/app/zoombuild.cfg): `:` separators, a continuation line,
    /// blank lines, empty values.
    static let originalText = "[project]\n"
        + "source_code_url: git://github.com/shimon/djangotutorial.git\n"
        + "title: Djangotutorial\n"
        + "django_version: 1.2\n"
        + "database_type: postgresql-8.4\n"
        + "base_python_package: mysite\n"
        + "django_settings_module: mysite.settings\n"
        + "site_media_map: static static\n"
        + "  foo {SITE_PACKAGES}/foo\n"
        + "\n"
        + "additional_python_path_dirs: mysite_pth_add\n"
        + "\n"
        + "requirements_files: \n"
        + "\n"
        + "extra_requirements: \n"

    // MARK: round trips

    @Test func fullConfigRendersInFixedOrder() {
        #expect(Self.full.rendered() == Self.fullText)
    }

    @Test func fullConfigRoundTrips() throws {
        let config = Self.full
        #expect(try Config.parse(config.rendered()) == config)
        #expect(try Config.parse(Self.fullText).rendered() == Self.fullText)
        try config.validate()
    }

    @Test func emptyConfigWritesEveryKeyEmptyAndRoundTrips() throws {
        let text = Config().rendered()
        #expect(text.hasPrefix("[project]\nsource_code_url =\ntitle =\n"))
        #expect(text.split(separator: "\n").count == 1 + Config.Key.allCases.count)
        #expect(try Config.parse(text) == Config())
    }

    @Test func originalFileReadsAndRendersInDzStyle() throws {
        let config = try Config.parse(Self.originalText)
        #expect(config.sourceCodeURL == "git://github.com/shimon/djangotutorial.git")
        #expect(config.title == "Djangotutorial")
        #expect(config.djangoVersion == "1.2")
        #expect(config.databaseType == .postgresql84)
        #expect(config.databaseType?.requiresPostGIS == false)
        #expect(config.basePythonPackage == "mysite")
        #expect(config.djangoSettingsModule == "mysite.settings")
        #expect(config.siteMediaMap == [.init(url: "static", path: "static"),
                                        .init(url: "foo", path: "{SITE_PACKAGES}/foo")])
        #expect(config.additionalPythonPathDirs == ["mysite_pth_add"])
        #expect(config.requirementsFiles == [])
        #expect(config.extraRequirements == [])
        #expect(config.unknownKeys == [])
        let rendered = config.rendered()
        #expect(rendered == """
            [project]
            source_code_url = git://github.com/shimon/djangotutorial.git
            title = Djangotutorial
            django_version = 1.2
            database_type = postgresql-8.4
            base_python_package = mysite
            django_settings_module = mysite.settings
            site_media_map =
                static static
                foo {SITE_PACKAGES}/foo
            additional_python_path_dirs =
                mysite_pth_add
            requirements_files =
            extra_requirements =
            python_version =
            package_manager =
            wsgi_module =
            manage_py =
            procfile_web =
            # procfile_release =   (unset: the Procfile's release: line runs; empty: none runs)
            num_workers =
            hostnames =

            """)
        #expect(try Config.parse(rendered) == config)
    }

    @Test func listItemsReadFromKeyLineAndContinuationsAlike() throws {
        let onKeyLine = try Config.parse("[project]\nhostnames = a.example.com\n\tb.example.com\n")
        let indented = try Config.parse("[project]\nhostnames =\n  a.example.com\n  b.example.com\n")
        #expect(onKeyLine.hostnames == ["a.example.com", "b.example.com"])
        #expect(onKeyLine == indented)
    }

    @Test func commentsBlankLinesCaseAndLineEndingsAreAccepted() throws {
        let text = "\u{FEFF}# written by hand\r\n; another comment\r\n\r\n[project]\r\n  # an indented comment\r\n"
            + "Title :  Spaced Out  \r\nrequirements_files =\r\n    a.txt\r\n\r\n    # between items\r\n    b.txt\r\n"
        let config = try Config.parse(text)
        #expect(config.title == "Spaced Out")
        #expect(config.requirementsFiles == ["a.txt", "b.txt"])
    }

    @Test func firstSeparatorSplitsKeyFromValue() throws {
        let config = try Config.parse("[project]\ntitle: a = b: c\nsource_code_url = ssh://git@host:22/x.git\n")
        #expect(config.title == "a = b: c")
        #expect(config.sourceCodeURL == "ssh://git@host:22/x.git")
    }

    // MARK: unknown keys and other sections

    @Test func unknownKeyIsKeptWithWarningAndWrittenBack() throws {
        var warnings: [Config.Warning] = []
        let text = "[project]\ntitle = t\nfuture_key = one\n  two\nlater = x\n"
        let config = try Config.parse(text, warnings: &warnings)
        #expect(warnings == [.unknownKey(line: 3, key: "future_key"), .unknownKey(line: 5, key: "later")])
        #expect(config.unknownKeys == [.init(name: "future_key", values: ["one", "two"]),
                                       .init(name: "later", values: ["x"])])
        #expect(config.rendered().hasSuffix("hostnames =\nfuture_key =\n    one\n    two\nlater = x\n"))
        #expect(try Config.parse(config.rendered()) == config)
    }

    @Test func otherSectionsAreSkippedWithWarning() throws {
        var warnings: [Config.Warning] = []
        let text = "[deploy]\nanything = goes here\n  and here\n[project]\ntitle = t\n"
        let config = try Config.parse(text, warnings: &warnings)
        #expect(warnings == [.ignoredSection(line: 1, name: "deploy")])
        #expect(config.title == "t")
        #expect(config.unknownKeys.isEmpty)
    }

    // MARK: errors, each with its line

    static let structureErrors: [(String, ZoombuildConfigError)] = [
        ("# c\ntitle = t\n[project]\n", .lineOutsideSection(line: 2)),
        ("  indented\n[project]\n", .lineOutsideSection(line: 1)),
        ("[other]\ntitle = t\n", .missingProjectSection),
        ("", .missingProjectSection),
        ("[project]\ntitle = a\n\ntitle = b\n", .duplicateKey(line: 4, key: "title", firstLine: 2)),
        ("[project]\nTITLE = a\ntitle = b\n", .duplicateKey(line: 3, key: "title", firstLine: 2)),
        ("[project]\n[x]\n[project]\n", .duplicateSection(line: 3, name: "project", firstLine: 1)),
        ("[project]\n  orphan\n", .continuationWithoutKey(line: 2)),
        ("[project]\njust words\n", .malformedLine(line: 2, text: "just words")),
        ("[project\ntitle = t\n", .malformedLine(line: 1, text: "[project")),
        ("[project]\n= value\n", .malformedLine(line: 2, text: "= value")),
        ("[project]\nbad key = v\n", .malformedLine(line: 2, text: "bad key = v")),
        ("[project]\ntitle = one\n  two\n", .multipleValues(line: 3, key: "title")),
        ("[project]\nsite_media_map =\n  /static/ static\n  /media/\n",
         .malformedSiteMediaEntry(line: 4, text: "/media/")),
        ("[project]\nsite_media_map = /a/ b c\n", .malformedSiteMediaEntry(line: 2, text: "/a/ b c")),
        ("[project]\n\nnum_workers = four\n", .notAnInteger(line: 3, key: "num_workers", value: "four")),
        ("[project]\nnum_workers = 2.5\n", .notAnInteger(line: 2, key: "num_workers", value: "2.5")),
        ("[project]\nnum_workers = 0\n",
         .invalidValue(line: 2, key: "num_workers", value: "0", expected: .workerCount)),
        ("[project]\nnum_workers = 1000\n",
         .invalidValue(line: 2, key: "num_workers", value: "1000", expected: .workerCount)),
    ]

    @Test(arguments: structureErrors)
    func malformedFileIsRejectedWithItsLine(text: String, expected: ZoombuildConfigError) {
        #expect(throws: expected) { try Config.parse(text) }
    }

    @Test func errorMessageNamesTheLine() {
        do {
            _ = try Config.parse("[project]\nhostnames =\n  ok.example.com\n  evil.com; return 200\n")
            Issue.record("parsed a hostile host name")
        } catch {
            #expect(error.line == 4)
            #expect(error.description.hasPrefix(
                "zoombuild.cfg line 4: hostnames \"evil.com; return 200\" is not allowed: expected a DNS host name"))
        }
        #expect(ZoombuildConfigError.missingProjectSection.description == "zoombuild.cfg: no [project] section")
        #expect(ZoombuildConfigError.missingProjectSection.line == nil)
    }

    @Test func errorMessageEscapesControlCharacters() {
        let error = ZoombuildConfigError.invalidValue(line: 0, key: "title", value: "a\u{1b}[2Jb",
                                                      expected: .singleLine)
        #expect(error.description == "zoombuild.cfg: title \"a\\u{1b}[2Jb\" is not allowed: "
            + "expected one line of text without control characters")
    }

    // MARK: hostile values

    static let hostileValues: [(key: String, value: String, expected: ZoombuildConfigError.Expectation)] = [
        ("hostnames", "evil.com;", .hostname),
        ("hostnames", "a.com}server{", .hostname),
        ("hostnames", "\"a.com\"", .hostname),
        ("hostnames", "a.com'", .hostname),
        ("hostnames", "*.com", .hostname),
        ("hostnames", "a.*.com", .hostname),
        ("hostnames", "-a.com", .hostname),
        ("hostnames", "a-.com", .hostname),
        ("hostnames", "a..com", .hostname),
        ("hostnames", "a.com.", .hostname),
        ("hostnames", "ex ample.com", .hostname),
        ("hostnames", "héllo.com", .hostname),
        ("hostnames", String(repeating: "a", count: 64) + ".com", .hostname),
        ("hostnames", "$host", .hostname),
        ("base_python_package", "os; import x", .moduleName),
        ("base_python_package", "my-site", .moduleName),
        ("base_python_package", "1site", .moduleName),
        ("django_settings_module", "mysite..settings", .moduleName),
        ("django_settings_module", "mysite/settings", .moduleName),
        ("django_settings_module", ".settings", .moduleName),
        ("wsgi_module", "mysite.wsgi:app:x", .wsgiModule),
        ("wsgi_module", "mysite.wsgi:", .wsgiModule),
        ("wsgi_module", "mysite.wsgi:app()", .wsgiModule),
        ("additional_python_path_dirs", "/etc", .relativePath),
        ("additional_python_path_dirs", "../other", .relativePath),
        ("additional_python_path_dirs", "src/../../x", .relativePath),
        ("requirements_files", "requirements/..", .relativePath),
        ("requirements_files", "-r", .relativePath),
        ("requirements_files", "req;s.txt", .relativePath),
        ("requirements_files", "req{s}.txt", .relativePath),
        ("manage_py", "~/../manage.py", .relativePath),
        ("manage_py", "$(id)/manage.py", .relativePath),
        ("extra_requirements", "--index-url=http://evil/", .requirement),
        ("extra_requirements", "-r /etc/passwd", .requirement),
        ("extra_requirements", "-e .", .requirement),
        ("django_version", "4.2; rm -rf", .version),
        ("django_version", "4.2 5.0", .version),
        ("python_version", "3.12\"", .pythonVersion),
        ("package_manager", "pip install", .word),
        ("package_manager", "-x", .word),
        ("database_type", "oracle", .databaseType),
        ("database_type", "PostgreSQL", .databaseType),
        ("source_code_url", "--upload-pack=touch /tmp/x", .sourceURL),
        ("source_code_url", "-uhttps://x", .sourceURL),
        ("source_code_url", "ext::sh -c touch% /tmp/x", .sourceURL),
        ("source_code_url", "ext::sh", .sourceURL),
        ("source_code_url", "fd::17", .sourceURL),
        ("source_code_url", "https://x/\"a", .sourceURL),
        ("source_code_url", "https://x/a b", .sourceURL),
        ("title", "a\u{7}bell", .singleLine),
        ("title", "a\u{2028}b", .singleLine),
        ("procfile_web", "gunicorn\u{0}x", .singleLine),
    ]

    @Test(arguments: hostileValues)
    func hostileValueIsRejected(key: String, value: String, expected: ZoombuildConfigError.Expectation) {
        let text = "[project]\n# line 2\n\(key) = \(value)\n"
        #expect(throws: ZoombuildConfigError.invalidValue(line: 3, key: key, value: value, expected: expected)) {
            try Config.parse(text)
        }
    }

    static let hostileSiteMedia: [(entry: String, part: String, expected: ZoombuildConfigError.Expectation)] = [
        ("/static/ /etc", "/etc", .siteMediaPath),
        ("/static/ ../secrets", "../secrets", .siteMediaPath),
        ("/static/ {SITE_PACKAGES}/../..", "{SITE_PACKAGES}/../..", .siteMediaPath),
        ("/static/ {HOME}/x", "{HOME}/x", .siteMediaPath),
        ("/static/ static;", "static;", .siteMediaPath),
        ("/static/;} static", "/static/;}", .urlPath),
        ("/../ static", "/../", .urlPath),
        ("/st\"atic static", "/st\"atic", .urlPath),
    ]

    @Test(arguments: hostileSiteMedia)
    func hostileSiteMediaEntryIsRejected(entry: String, part: String, expected: ZoombuildConfigError.Expectation) {
        #expect(throws: ZoombuildConfigError.invalidValue(line: 3, key: "site_media_map", value: part,
                                                          expected: expected)) {
            try Config.parse("[project]\nsite_media_map =\n  \(entry)\n")
        }
    }

    @Test func unusualButSafeValuesAreAccepted() throws {
        let text = """
            [project]
            source_code_url = git@github.com:example/my-site.git
            hostnames =
                localhost
                127.0.0.1
                *.apps.example.com
                xn--bcher-kva.example
            additional_python_path_dirs = .
            requirements_files = requirements/base+extra@2.txt
            extra_requirements =
                mypkg @ git+https://github.com/example/mypkg.git@v1#egg=mypkg
                Django>=4.2,<5.0
            python_version = python-3.11.4
            django_version = >=4.2,<5
            wsgi_module = mysite.wsgi
            site_media_map =
                / public
                /static/ {SITE_PACKAGES}
            """
        let config = try Config.parse(text)
        #expect(config.hostnames.count == 4)
        #expect(config.extraRequirements.count == 2)
        #expect(config.siteMediaMap.last == .init(url: "/static/", path: "{SITE_PACKAGES}"))
        #expect(try Config.parse(config.rendered()) == config)
    }

    @Test func validateRejectsHostileValuesSetInCode() {
        var config = Self.full
        config.hostnames.append("x.com;\n}")
        #expect(throws: ZoombuildConfigError.invalidValue(line: 0, key: "hostnames", value: "x.com;\n}",
                                                          expected: .hostname)) {
            try config.validate()
        }
        config = Self.full
        config.title = " padded"
        #expect(throws: ZoombuildConfigError.self) { try config.validate() }
        config = Self.full
        config.unknownKeys = [.init(name: "bad name", values: [])]
        #expect(throws: ZoombuildConfigError.malformedLine(line: 0, text: "bad name")) { try config.validate() }
    }

    @Test func renderingNeverInjectsKeysOrSections() throws {
        var config = Config()
        config.title = "innocent\nhostnames = evil.com\n[project]"
        let text = config.rendered()
        #expect(text.hasPrefix(
            "[project]\nsource_code_url =\ntitle =\n    innocent\n    hostnames = evil.com\n    [project]\n"))
        #expect(throws: ZoombuildConfigError.multipleValues(line: 5, key: "title")) { try Config.parse(text) }
        config.title = nil
        config.unknownKeys = [.init(name: "x\n[evil]\nhostnames", values: ["a"]), .init(name: "title", values: ["b"])]
        #expect(config.rendered() == Config().rendered())
    }

    // MARK: from guesses

    static func guess(_ field: String, _ value: String, primary: Bool = true, basis: String = "settings.py")
        -> ConfigGuess {
        ConfigGuess(field: field, value: value, isPrimary: primary, basis: basis)
    }

    @Test func guessesGiveThePrimaryValueOfEachField() {
        let guesses = [
            Self.guess("django_settings_module", "proj.settings.dev", primary: false, basis: "proj/settings/dev.py"),
            Self.guess("django_settings_module", "proj.settings.base", basis: "proj/settings/base.py"),
            Self.guess("django_settings_module", "proj.settings.prod", basis: "proj/settings/prod.py"),
            Self.guess("base_python_package", "proj"),
            Self.guess("title", "Proj", basis: ""),
            Self.guess("database_type", "postgresql"),
            Self.guess("num_workers", "3"),
            Self.guess("python_version", "3.12", primary: false, basis: ".python-version"),
            Self.guess("wsgi_module", "proj.wsgi:application", basis: "proj/wsgi.py"),
            Self.guess("manage_py", "src/manage.py", basis: "src/manage.py"),
            Self.guess("requirement_file_names", "requirements.txt"),
        ]
        let config = Config(guesses: guesses)
        #expect(config.djangoSettingsModule == "proj.settings.base")
        #expect(config.basePythonPackage == "proj")
        #expect(config.title == "Proj")
        #expect(config.databaseType == .postgresql)
        #expect(config.numWorkers == 3)
        #expect(config.pythonVersion == nil)
        #expect(config.wsgiModule == "proj.wsgi:application")
        #expect(config.managePy == "src/manage.py")
        #expect(config.unknownKeys.isEmpty)
    }

    @Test func listGuessesCollectEveryPrimaryItemAndEveryPathGuessButOnlyThePrimaryRequirements() throws {
        let guesses = [
            Self.guess("additional_python_path_dirs", "version2", basis: "version2/voo2do/settings.py"),
            Self.guess("additional_python_path_dirs", "version2/voo2do", primary: false),
            Self.guess("additional_python_path_dirs", "version2"),
            Self.guess("requirements_files", "requirements.txt", basis: "requirements.txt"),
            Self.guess("requirements_files", "requirements/base.txt\nrequirements/prod.txt", primary: false),
            Self.guess("site_media_map", "/static/ staticfiles\n/media/ media"),
            Self.guess("site_media_map", "/other/ other", primary: false),
            Self.guess("hostnames", "www.example.com"),
            Self.guess("hostnames", "draft.example.com", primary: false),
            Self.guess("extra_requirements", "gunicorn"),
        ]
        let config = Config(guesses: guesses)
        #expect(config.additionalPythonPathDirs == ["version2", "version2/voo2do"])
        #expect(config.requirementsFiles == ["requirements.txt"], "the others are listed as comments")
        let notes = Config.proposalNotes(guesses: guesses)
        #expect(notes.contains("#     requirements/base.txt\n#     requirements/prod.txt\n"))
        var warnings: [Config.Warning] = []
        #expect(try Config.parse(config.rendered() + notes, warnings: &warnings) == config, "comments only")
        #expect(config.siteMediaMap == [.init(url: "/static/", path: "staticfiles"),
                                        .init(url: "/media/", path: "media")])
        #expect(config.hostnames == ["www.example.com"])
        #expect(config.extraRequirements == ["gunicorn"])
    }

    @Test func hostileGuessesAreLeftOutAndReported() {
        let hostileModule = Self.guess("django_settings_module", "x;import os", basis: "evil/settings.py")
        let hostileDir = Self.guess("additional_python_path_dirs", "../../etc", primary: false)
        let hostileMedia = Self.guess("site_media_map", "/static/ /etc")
        let guesses = [
            hostileModule,
            Self.guess("django_settings_module", "good.settings", basis: "good/settings.py"),
            Self.guess("additional_python_path_dirs", "src"),
            hostileDir,
            hostileMedia,
            Self.guess("site_media_map", "/static/ static"),
            Self.guess("num_workers", "lots"),
        ]
        var rejected: [Config.RejectedGuess] = []
        let config = Config(guesses: guesses, rejected: &rejected)
        #expect(config.djangoSettingsModule == "good.settings")
        #expect(config.additionalPythonPathDirs == ["src"])
        #expect(config.siteMediaMap == [.init(url: "/static/", path: "static")])
        #expect(config.numWorkers == nil)
        // In key order (the order rendered() writes), not guess order.
        #expect(rejected.map(\.guess) == [hostileModule, hostileMedia, hostileDir, guesses[6]])
        #expect(rejected[0].error == .invalidValue(line: 0, key: "django_settings_module", value: "x;import os",
                                                   expected: .moduleName))
        #expect(rejected[3].error == .notAnInteger(line: 0, key: "num_workers", value: "lots"))
        #expect(throws: Never.self) { try config.validate() }
    }

    @Test func anAbsoluteStaticRootIsLeftOutAloneAndTheProposalSaysSo() throws {
        // The inspector's site_media_map guess has one line per setting: STATIC_ROOT absolute, MEDIA_ROOT relative.
        let media = Self.guess("site_media_map", "/static/ /var/www/shop/static\n/media/ media",
                               basis: "shop/settings.py")
        var rejected: [Config.RejectedGuess] = []
        let config = Config(guesses: [Self.guess("django_settings_module", "shop.settings"), media],
                            rejected: &rejected)
        #expect(config.siteMediaMap == [.init(url: "/media/", path: "media")], "the allowed line is kept")
        #expect(rejected.map(\.guess.value) == ["/static/ /var/www/shop/static"])
        let text = config.rendered(leftOut: rejected)
        #expect(text.contains("\n# Guessed but left out, as zoombuild.cfg does not allow them:\n"
            + "# site_media_map = /static/ /var/www/shop/static (from shop/settings.py): "), "\(text)")
        #expect(try Config.parse(text) == config, "the note is a comment")
        #expect(Config(guesses: [media]).rendered(leftOut: []) == Config(guesses: [media]).rendered())
    }

    @Test func inspectionGivesTheSameConfigAsItsGuesses() throws {
        let guesses = [
            Self.guess("base_python_package", "mysite"),
            Self.guess("django_settings_module", "mysite.settings"),
            Self.guess("requirements_files", "requirements.txt"),
            Self.guess("hostnames", "mysite.example.com"),
        ]
        let inspection = Inspection(isDjango: true, guesses: guesses, warnings: [], skipped: [])
        let config = Config(inspection: inspection)
        #expect(config == Config(guesses: guesses))
        #expect(try Config.parse(config.rendered()) == config)
    }
}
