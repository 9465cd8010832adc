@testable import DZSource
import DZSystem
@testable import DZWork
import Foundation
import Testing

/// A guess, primary unless said otherwise.
private func guess(_ field: String, _ value: String, _ basis: String, primary: Bool = true) -> ConfigGuess {
    ConfigGuess(field: field, value: value, isPrimary: primary, basis: basis)
}

/// The guesses every sample project with `<package>/settings.py`, `<package>/urls.py` and `<package>/wsgi.py`
/// beside a root `manage.py` shares.
private func standardLayout(_ package: String, wsgiBasis: String? = nil) -> [ConfigGuess] {
    [
        guess("base_python_package", "", "\(package)/settings.py"),
        guess("django_settings_module", "\(package).settings", "\(package)/settings.py"),
        guess("manage_py", "manage.py", "manage.py"),
        guess("wsgi_module", "\(package).wsgi", wsgiBasis ?? "\(package)/wsgi.py"),
    ]
}

private func pip(_ file: String = "requirements.txt", django: String = "4.2.7") -> [ConfigGuess] {
    [
        guess("requirements_files", file, file),
        guess("package_manager", "pip", file),
        guess("django_version", django, file),
    ]
}

private let startprojectGuesses = [
    guess("title", "my-shop", ""),
    guess("base_python_package", "", "mysite/settings.py"),
    guess("django_settings_module", "mysite.settings", "mysite/settings.py"),
    guess("manage_py", "manage.py", "manage.py"),
    guess("wsgi_module", "mysite.wsgi", "mysite/settings.py"),
    guess("requirements_files", "requirements.txt", "requirements.txt"),
    guess("package_manager", "pip", "requirements.txt"),
    guess("python_version", "3.11.4", "runtime.txt"),
    guess("django_version", "4.2.7", "requirements.txt"),
    guess("site_media_map", "/static/ staticfiles\n/media/ media", "mysite/settings.py"),
    guess("database_type", "postgresql", "mysite/settings.py"),
    guess("procfile_web", "gunicorn mysite.wsgi --log-file -", "Procfile"),
    guess("procfile_release", "python manage.py migrate --noinput", "Procfile"),
]

@Suite struct InspectionTests {
    let inspector = DjangoInspector()

    func inspect(_ fixture: String, sourceURL: String? = nil) async throws -> Inspection {
        try await FixtureSupport.withRepository(fixture) { repository in
            try await inspector.inspect(repository: repository, sourceURL: sourceURL)
        }
    }

    /// Exactly `expected`, each guess once, and never two primary guesses for one field.
    func expectGuesses(_ inspection: Inspection, _ expected: [ConfigGuess],
                       sourceLocation: SourceLocation = #_sourceLocation)
    {
        let found = Set(inspection.guesses)
        #expect(found.subtracting(expected).isEmpty, "unexpected: \(found.subtracting(expected))",
                sourceLocation: sourceLocation)
        #expect(Set(expected).subtracting(found).isEmpty, "missing: \(Set(expected).subtracting(found))",
                sourceLocation: sourceLocation)
        #expect(inspection.guesses.count == found.count, "a guess repeated", sourceLocation: sourceLocation)
        for field in Set(inspection.guesses.map(\.field)) {
            let primaries = inspection.guesses.filter { $0.field == field && $0.isPrimary }
            #expect(primaries.count <= 1, "several primary \(field) guesses", sourceLocation: sourceLocation)
        }
    }

    // MARK: layouts

    @Test func classicLayoutResolvesUrlsThroughTheParentPackage() async throws {
        let inspection = try await inspect("classic-1x", sourceURL: "git://github.com/shimon/djangotutorial.git")
        #expect(inspection.isDjango)
        expectGuesses(inspection, [
            guess("title", "djangotutorial", ""),
            guess("base_python_package", "mysite", "settings.py"),
            guess("django_settings_module", "mysite.settings", "settings.py"),
            guess("manage_py", "manage.py", "manage.py"),
            guess("site_media_map", "/media/ media", "settings.py"),
            guess("database_type", "postgresql", "settings.py"),
        ] + pip(django: "1.3.1"))
        #expect(inspection.warnings == [
            "settings.py: ALLOWED_HOSTS is not set; with DEBUG off Django answers 400 Bad Request to every host name",
            "polls/models.py defines models but polls/ has no migrations folder: run makemigrations and commit the "
                + "migrations",
        ])
        #expect(inspection.skipped.isEmpty)
    }

    @Test func startprojectLayoutIsGuessedWhole() async throws {
        let inspection = try await inspect("startproject", sourceURL: "https://github.com/acme/my-shop.git")
        #expect(inspection.isDjango)
        expectGuesses(inspection, startprojectGuesses)
        #expect(inspection.warnings.isEmpty)
        #expect(inspection.skipped.isEmpty)
        #expect(inspection.primary("django_settings_module") == "mysite.settings")
    }

    @Test func srcLayoutPutsSrcOnThePythonPath() async throws {
        let inspection = try await inspect("src-layout", sourceURL: "git@github.com:acme/src-shop.git")
        expectGuesses(inspection, [
            guess("title", "src-shop", ""),
            guess("base_python_package", "", "src/mysite/settings.py"),
            guess("django_settings_module", "mysite.settings", "src/mysite/settings.py"),
            guess("additional_python_path_dirs", "src", "src/mysite/settings.py"),
            guess("manage_py", "manage.py", "manage.py"),
            guess("wsgi_module", "mysite.wsgi", "src/mysite/settings.py"),
            guess("requirements_files", "pyproject.toml", "pyproject.toml"),
            guess("package_manager", "pip", "pyproject.toml"),
            guess("python_version", ">=3.10", "pyproject.toml"),
            guess("django_version", ">=4.2,<5", "pyproject.toml"),
            guess("site_media_map", "/static/ staticfiles", "src/mysite/settings.py"),
            guess("database_type", "postgresql", "src/mysite/settings.py"),
        ])
        #expect(inspection.warnings.isEmpty)
    }

    @Test func projectInASubfolderIsFoundTwoLevelsDown() async throws {
        let inspection = try await inspect("subfolder")
        expectGuesses(inspection, [
            guess("base_python_package", "", "services/web/shop/settings.py"),
            guess("django_settings_module", "shop.settings", "services/web/shop/settings.py"),
            guess("additional_python_path_dirs", "services/web", "services/web/shop/settings.py"),
            guess("manage_py", "services/web/manage.py", "services/web/manage.py"),
            guess("wsgi_module", "shop.wsgi", "services/web/shop/wsgi.py"),
            guess("site_media_map", "/static/ services/web/static_collected", "services/web/shop/settings.py"),
            // A driver in the requirements and Django's default SQLite are hints, not demands: the hosts decide.
            guess("database_type", "postgresql", "services/web/requirements.txt", primary: false),
            guess("database_type", "sqlite", "services/web/shop/settings.py", primary: false),
        ] + pip("services/web/requirements.txt"))
        #expect(inspection.warnings.isEmpty)
    }

    @Test func severalSettingsModulesPreferTheOneWsgiUses() async throws {
        let inspection = try await inspect("settings-package", sourceURL: "file:///srv/git/mysite/")
        expectGuesses(inspection, [
            guess("title", "mysite", ""),
            guess("base_python_package", "", "mysite/settings/prod.py"),
            guess("django_settings_module", "mysite.settings.prod", "mysite/settings/prod.py"),
            guess("django_settings_module", "mysite.settings.dev", "mysite/settings/dev.py", primary: false),
            guess("django_settings_module", "mysite.settings.base", "mysite/settings/base.py", primary: false),
            guess("manage_py", "manage.py", "manage.py"),
            guess("wsgi_module", "mysite.wsgi", "mysite/settings/prod.py"),
            guess("requirements_files", "requirements/prod.txt", "requirements/prod.txt"),
            guess("requirements_files", "requirements/base.txt", "requirements/base.txt", primary: false),
            guess("requirements_files", "requirements/dev.txt", "requirements/dev.txt", primary: false),
            guess("package_manager", "pip", "requirements/prod.txt"),
            // prod.txt includes base.txt, where Django is.
            guess("django_version", ">=4.2,<5", "requirements/base.txt"),
            guess("site_media_map", "/static/ static", "mysite/settings/prod.py"),
            guess("database_type", "postgresql", "mysite/settings/prod.py"),
            guess("database_type", "sqlite", "mysite/settings/dev.py", primary: false),
        ])
        // base.py's empty ALLOWED_HOSTS and dev.py's DEBUG are overridden or not deployed: no warnings.
        #expect(inspection.warnings.isEmpty)
    }

    // MARK: package managers

    @Test func poetryProjectIsReadFromPyprojectAndItsLock() async throws {
        let inspection = try await inspect("poetry")
        expectGuesses(inspection, standardLayout("blog", wsgiBasis: "blog/settings.py") + [
            guess("requirements_files", "pyproject.toml", "pyproject.toml"),
            guess("package_manager", "poetry", "pyproject.toml"),
            guess("python_version", "^3.11", "pyproject.toml"),
            guess("django_version", "4.2.7", "poetry.lock"),
            guess("django_version", "^4.2", "pyproject.toml", primary: false),
            // from dj_database_url.config(default="postgres://...")
            guess("database_type", "postgresql", "blog/settings.py"),
        ])
        #expect(inspection.warnings.isEmpty)
    }

    @Test func uvProjectIsReadFromPyprojectAndUvLock() async throws {
        let inspection = try await inspect("uv")
        expectGuesses(inspection, standardLayout("notes", wsgiBasis: "notes/settings.py") + [
            guess("requirements_files", "pyproject.toml", "pyproject.toml"),
            guess("package_manager", "uv", "uv.lock"),
            guess("python_version", "3.12", ".python-version"),
            guess("python_version", ">=3.12", "pyproject.toml", primary: false),
            guess("django_version", "5.0.1", "uv.lock"),
            guess("database_type", "postgresql", "notes/settings.py"),
        ])
        #expect(inspection.warnings.isEmpty)
    }

    @Test func pipfileProjectIsReadFromPipfileAndItsLock() async throws {
        let inspection = try await inspect("pipfile")
        expectGuesses(inspection, standardLayout("todo") + [
            guess("requirements_files", "Pipfile", "Pipfile"),
            guess("package_manager", "pipenv", "Pipfile"),
            guess("python_version", "3.11", "Pipfile.lock"),
            guess("django_version", "4.2.7", "Pipfile.lock"),
            guess("django_version", "~=4.2", "Pipfile", primary: false),
            guess("database_type", "mysql", "todo/settings.py"),
        ])
        #expect(inspection.warnings.isEmpty)
    }

    @Test func pipfileWithoutItsLockIsWarnedAboutAndLosesToRequirements() async throws {
        let inspection = try await inspect("pipfile-nolock")
        expectGuesses(inspection, standardLayout("todo") + pip() + [
            guess("requirements_files", "Pipfile", "Pipfile", primary: false),
            guess("package_manager", "pipenv", "Pipfile", primary: false),
            guess("python_version", "3.11", "Pipfile"),
            guess("database_type", "postgresql", "todo/settings.py"),
        ])
        #expect(inspection.warnings == [
            "Pipfile has no Pipfile.lock beside it: versions are not locked; run `pipenv lock` and commit Pipfile.lock",
            "several package managers: pip (requirements.txt), pipenv (Pipfile); the guess is pip, keep only one",
        ])
    }

    @Test func setupPyOnlyProjectUsesSetuptools() async throws {
        let inspection = try await inspect("setup-py")
        expectGuesses(inspection, standardLayout("inventory") + [
            guess("requirements_files", "setup.py", "setup.py"),
            guess("package_manager", "setuptools", "setup.py"),
            guess("python_version", ">=3.8", "setup.py"),
            guess("django_version", ">=3.2,<4", "setup.py"),
            guess("database_type", "postgresql", "inventory/settings.py"),
        ])
        #expect(inspection.warnings.isEmpty)
    }

    @Test func misspelledRequirementsFileIsWarnedAboutAndOffered() async throws {
        let inspection = try await inspect("misspelled-requirements")
        expectGuesses(inspection, standardLayout("mysite") + pip("requirments.txt") + [
            guess("database_type", "postgresql", "mysite/settings.py"),
        ])
        #expect(inspection.warnings == [
            "requirments.txt: misspelled requirements file name (expected requirements.txt); it is offered as a "
                + "requirements file, but rename it",
        ])
    }

    // MARK: broken and foreign repositories

    @Test func settingsFileWithASyntaxErrorIsSkipped() async throws {
        let inspection = try await inspect("syntax-error")
        expectGuesses(inspection, standardLayout("mysite") + pip() + [
            guess("database_type", "postgresql", "mysite/settings.py"),
        ])
        #expect(inspection.skipped.count == 1)
        #expect(inspection.skipped.first?.hasPrefix("settings.py: syntax error at line 4: ") == true)
        #expect(inspection.warnings.isEmpty)
    }

    @Test func repositoryWithoutDjangoIsNotADjangoProject() async throws {
        let inspection = try await inspect("not-django", sourceURL: "https://github.com/acme/flask-app.git")
        #expect(!inspection.isDjango)
        #expect(inspection.guesses.isEmpty)
        #expect(inspection.warnings == [
            "not a Django project: no settings module (with ROOT_URLCONF or INSTALLED_APPS) and no manage.py were "
                + "found",
        ])
    }

    // MARK: hazards

    @Test func debugAndEmptyAllowedHostsAreHazards() async throws {
        let inspection = try await inspect("debug-hosts")
        expectGuesses(inspection, standardLayout("mysite") + pip() + [
            // Django's default SQLite is a hint: the hosts decide.
            guess("database_type", "sqlite", "mysite/settings.py", primary: false),
        ])
        #expect(inspection.warnings == [
            "mysite/settings.py: DEBUG = True; a deployed site must not show debugging pages to everyone",
            "mysite/settings.py: ALLOWED_HOSTS is empty; with DEBUG off Django answers 400 Bad Request to every "
                + "host name",
        ])
    }

    @Test func committedVirtualenvIsSkippedAndWarnedAbout() async throws {
        let inspection = try await inspect("committed-venv")
        // venv/src/requirements.txt and the settings inside site-packages are never seen.
        expectGuesses(inspection, standardLayout("mysite") + pip() + [
            guess("database_type", "postgresql", "mysite/settings.py"),
        ])
        #expect(inspection.warnings == [
            "venv/ is a committed virtualenv: it was not inspected; remove it from the repository (the build makes "
                + "its own)",
        ])
    }

    @Test func appWithModelsButNoMigrationsIsWarnedAbout() async throws {
        let inspection = try await inspect("no-migrations")
        expectGuesses(inspection, standardLayout("mysite") + pip() + [
            guess("database_type", "postgresql", "mysite/settings.py"),
        ])
        // pages/models.py defines no model, so it needs no migrations.
        #expect(inspection.warnings == [
            "blog/models.py defines models but blog/ has no migrations folder: run makemigrations and commit the "
                + "migrations",
        ])
    }

    @Test func geoDjangoNeedsPostgis() async throws {
        let inspection = try await inspect("postgis")
        expectGuesses(inspection, standardLayout("maps") + pip() + [
            guess("database_type", "postgis", "maps/settings.py"),
            guess("database_type", "postgresql", "requirements.txt", primary: false),
        ])
        #expect(inspection.warnings.isEmpty)
    }
}

// MARK: bounds and failures

extension InspectionTests {
    @Test func hugeRepositoryIsInspectedWithinBounds() async throws {
        let inspection = try await FixtureSupport.withRepository("startproject") { repository in
            // 30,000 files of JavaScript, a virtualenv and a deep tree of ordinary files, with bait in the skipped
            // folders: a settings file that does not parse and a requirements file.
            try FileSystem.makeDirectory(repository + "/node_modules")
            for package in 0..<300 {
                let directory = repository + "/node_modules/pkg\(package)"
                try FileSystem.makeDirectory(directory)
                for file in 0..<100 { try FileIO.create(directory + "/f\(file).js", bytes: [0x78], sync: false) }
            }
            try FixtureSupport.write("ROOT_URLCONF = (\n", to: "node_modules/evil/settings.py", in: repository)
            try FixtureSupport.write("Django==0.1\n", to: "node_modules/evil/requirements.txt", in: repository)
            try FixtureSupport.write("home = /usr/bin\n", to: "venv/pyvenv.cfg", in: repository)
            for file in 0..<500 {
                try FixtureSupport.write("X = \(file)\n", to: "venv/lib/python3.11/site-packages/p\(file)/settings.py",
                                         in: repository)
            }
            var deep = "docs"
            for level in 0..<150 {
                deep += "/d\(level)"
                try FixtureSupport.write("X = 1\n", to: deep + "/m.py", in: repository)
                try FixtureSupport.write("text\n", to: deep + "/notes.txt", in: repository)
            }
            return try await inspector.inspect(repository: repository, sourceURL: "https://github.com/acme/my-shop.git")
        }
        expectGuesses(inspection, startprojectGuesses)
        #expect(!inspection.guesses.contains { $0.value.contains("node_modules") || $0.basis.contains("node_modules") })
        #expect(!inspection.skipped.contains { $0.contains("node_modules") || $0.contains("venv/") })
        #expect(inspection.warnings == [
            "venv/ is a committed virtualenv: it was not inspected; remove it from the repository (the build makes "
                + "its own)",
        ])
    }

    @Test func walkStopsAtTheFileLimit() async throws {
        let limited = DjangoInspector(python: "python3", timeout: 60, maxFiles: 3, timeBudget: nil)
        let inspection = try await FixtureSupport.withRepository("startproject") { repository in
            try await limited.inspect(repository: repository, sourceURL: nil)
        }
        #expect(inspection.warnings.first == "stopped after 3 files: the inspection is partial")
    }

    @Test func spentTimeBudgetEndsTheInspectionWithAWarning() async throws {
        let hurried = DjangoInspector(python: "python3", timeout: 60, maxFiles: nil, timeBudget: 0)
        let inspection = try await FixtureSupport.withRepository("startproject") { repository in
            try await hurried.inspect(repository: repository, sourceURL: nil)
        }
        #expect(inspection.warnings.first == "the time budget of 0 s is spent: the inspection is partial")
    }

    @Test func neverRunsTheProjectsCode() async throws {
        try await FixtureSupport.withScratchDirectory { scratch in
            let marker = scratch + "/ran"
            let trap = "open(\(String(reflecting: marker)), \"w\").write(\"ran\")\n"
            try FixtureSupport.write(trap + "import django\n", to: "manage.py", in: scratch + "/repo")
            try FixtureSupport.write(trap + "ROOT_URLCONF = \"urls\"\n", to: "settings.py", in: scratch + "/repo")
            try FixtureSupport.write(trap, to: "urls.py", in: scratch + "/repo")
            try FixtureSupport.write(trap, to: "setup.py", in: scratch + "/repo")
            let inspection = try await inspector.inspect(repository: scratch + "/repo", sourceURL: nil)
            #expect(inspection.primary("django_settings_module") == "settings")
            #expect(!FileManager.default.fileExists(atPath: marker))
        }
    }

    /// The error `inspector` throws on the startproject sample, if any.
    func failure(of inspector: DjangoInspector, repository: String? = nil) async throws -> InspectionError? {
        try await FixtureSupport.withRepository("startproject") { fixture -> InspectionError? in
            do {
                _ = try await inspector.inspect(repository: repository ?? fixture, sourceURL: nil)
                return nil
            } catch let error as InspectionError {
                return error
            }
        }
    }

    @Test func missingPythonIsAClearError() async throws {
        let error = try await failure(of: DjangoInspector(python: "dz-no-such-python3"))
        #expect(error == .pythonMissing("dz-no-such-python3"))
        #expect(error?.description.contains("dz-no-such-python3 is not installed") == true)
    }

    @Test func missingRepositoryIsAClearError() async throws {
        let error = try await failure(of: inspector, repository: "/nonexistent/dz-repository")
        #expect(error == .noSuchRepository("/nonexistent/dz-repository"))
    }

    /// A stand-in for python3: a shell script that reads the inspector from its input, then runs `commands`.
    func fakePython(_ commands: String, in scratch: String) throws -> String {
        try FixtureSupport.write("#!/bin/sh\ncat >/dev/null\n" + commands + "\n", to: "fake-python", in: scratch)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: scratch + "/fake-python")
        return scratch + "/fake-python"
    }

    @Test func failingScriptReportsItsStandardError() async throws {
        try await FixtureSupport.withScratchDirectory { scratch in
            let python = try fakePython("echo 'Traceback (most recent call last):' >&2; echo 'KeyError: 1' >&2; exit 3",
                                        in: scratch)
            let error = try await failure(of: DjangoInspector(python: python))
            #expect(error == .scriptFailed("exit status 3", "Traceback (most recent call last):\nKeyError: 1"))
            #expect(error?.description == "the inspection script failed (exit status 3):\n"
                + "Traceback (most recent call last):\nKeyError: 1")
        }
    }

    @Test func outputThatIsNotJSONIsAnError() async throws {
        try await FixtureSupport.withScratchDirectory { scratch in
            let python = try fakePython("echo 'Hello, world'", in: scratch)
            let error = try await failure(of: DjangoInspector(python: python))
            #expect(error == .notJSON("not JSON", "Hello, world"))
        }
    }

    @Test func reportWithoutItsFieldsIsAnError() throws {
        #expect(throws: InspectionError.notJSON("no is_django", "{\"guesses\": []}")) {
            try DjangoInspector.decode(Array("{\"guesses\": []}".utf8))
        }
        #expect(throws: InspectionError.notJSON("a malformed guess", "{\"is_django\": true, \"guesses\": [1]}")) {
            try DjangoInspector.decode(Array("{\"is_django\": true, \"guesses\": [1]}".utf8))
        }
    }

    @Test func timeLimitStopsTheInspector() async throws {
        try await FixtureSupport.withScratchDirectory { scratch in
            let python = try fakePython("exec sleep 30", in: scratch)
            let error = try await failure(of: DjangoInspector(python: python, timeout: 0.5))
            #expect(error == .timedOut(0.5))
        }
    }
}
