@testable import DZBuild
@testable import DZWork
import Testing

@Suite struct RequirementSetTests {
    @Test func projectFilesAreIncludedAndWhatDzNeedsIsAdded() {
        let set = RequirementSet(projectFiles: [("requirements.txt", "Django==4.2.7\nrequests>=2 # http\n")],
                                 extra: ["whitenoise"], djangoVersion: "4.2.7", databaseDriver: "psycopg2-binary")
        #expect(set.lines == ["-r requirements.txt", "whitenoise", "gunicorn", "psycopg2-binary"])
        #expect(set.warnings.isEmpty)
    }

    @Test func djangoIsPinnedFromTheConfigWhenTheProjectNamesNone() {
        let full = RequirementSet(projectFiles: [], extra: [], djangoVersion: "4.2.7", databaseDriver: nil)
        #expect(full.lines == ["Django==4.2.7", "gunicorn"])
        let minor = RequirementSet(projectFiles: [], extra: [], djangoVersion: "4.2", databaseDriver: nil)
        #expect(minor.lines.first == "Django==4.2.*")
        let spec = RequirementSet(projectFiles: [], extra: [], djangoVersion: ">=4.2, <5.0", databaseDriver: nil)
        #expect(spec.lines.first == "Django>=4.2,<5.0")
    }

    @Test func duplicatesAndConflictsAreReported() {
        let set = RequirementSet(projectFiles: [("a.txt", "django==4.2\nRequests==2.0\n"), ("b.txt", "requests==2.0\n")],
                                 extra: ["Django==5.0", "psycopg[binary]"], djangoVersion: nil,
                                 databaseDriver: "psycopg2-binary")
        #expect(set.warnings.contains { $0.contains("requests is required twice") })
        #expect(set.warnings.contains { $0.contains("conflicting requirements for django") })
        #expect(!set.lines.contains("psycopg2-binary"), "the project brings its own psycopg")
    }

    @Test func optionsIncludesAndURLsAreNotPackageNames() {
        for line in ["-r other.txt", "--index-url https://x", "git+https://host/repo.git#egg=x", "# comment", ""] {
            #expect(RequirementSet.name(of: line) == nil, "\(line)")
        }
        #expect(RequirementSet.name(of: "Django_Extensions[all]>=3 ; python_version>'3'") == "django-extensions")
    }

    @Test func settingsOverrideImportsTheProjectSettings() {
        let module = SettingsOverride.module(projectSettings: "mysite.settings")
        #expect(module.contains("from mysite.settings import *"))
        #expect(module.contains("DZ_DATABASE_URL"))
        #expect(module.contains("DEBUG = False"))
        // Django's errors reach standard error (the instance's error log) unless the project set up logging.
        #expect(module.contains("if \"LOGGING\" not in globals() and \"LOGGING_CONFIG\" not in globals():"))
        #expect(module.contains("\"django\": {\"handlers\": [\"dz_stderr\", \"mail_admins\"]"))
    }
}
