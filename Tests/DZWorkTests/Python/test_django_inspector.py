"""Unit tests of dz's Django inspector (Sources/DZSource/Inspection/django_inspector.py), with Python's unittest.

Run: python3 -I Tests/DZWorkTests/Python/test_django_inspector.py (DjangoInspectorPythonTests runs it from
`swift test`). The inspector is loaded from its file, as the module it is; `main` is run as dz runs it, the
program on standard input of `python3 -I -`.
"""

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import unittest

# No __pycache__ beside the inspector: it is a file of a Swift target, where SwiftPM would find a stray.
sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "..", "..", "Sources", "DZSource", "Inspection", "django_inspector.py")

spec = importlib.util.spec_from_file_location("django_inspector", SCRIPT)
inspector = importlib.util.module_from_spec(spec)
spec.loader.exec_module(inspector)


def write(root, path, text):
    full = os.path.join(root, path)
    os.makedirs(os.path.dirname(full), exist_ok=True)
    with open(full, "w") as file:
        file.write(text)


def run(repository, *arguments):
    """The inspector run as dz runs it: the program on standard input; (exit status, JSON or None, stderr)."""
    with open(SCRIPT, "rb") as file:
        program = file.read()
    done = subprocess.run([sys.executable, "-I", "-", repository] + list(arguments), input=program,
                          capture_output=True, timeout=120)
    output = json.loads(done.stdout) if done.returncode == 0 else None
    return done.returncode, output, done.stderr.decode()


class PathTests(unittest.TestCase):
    def test_module_name_of_a_file_below_a_root_and_of_a_package(self):
        self.assertEqual(inspector.module_name("src/shop/settings.py", root="src"), "shop.settings")
        self.assertEqual(inspector.module_name("shop/__init__.py"), "shop")
        self.assertEqual(inspector.module_name("settings.py", base="shop"), "shop.settings")

    def test_ancestors_go_up_to_the_repository_root(self):
        self.assertEqual(list(inspector.ancestors("a/b/c")), ["a/b/c", "a/b", "a", ""])
        self.assertTrue(inspector.is_within("", "anything"))
        self.assertFalse(inspector.is_within("a/b", "a/bc"))


class RequirementTests(unittest.TestCase):
    def test_a_requirement_is_normalized_and_its_markers_dropped(self):
        self.assertEqual(inspector.parse_requirement("Django_Rest.Framework[extra] >= 3.14 ; python_version>'3'"),
                         ("django-rest-framework", ">=3.14"))
        self.assertEqual(inspector.parse_requirement("gunicorn @ https://example.com/g.whl"), ("gunicorn", ""))
        self.assertIsNone(inspector.parse_requirement("-r other.txt"))

    def test_only_an_exact_pin_is_a_version(self):
        self.assertEqual(inspector.pinned_version("==4.2.7"), "4.2.7")
        self.assertEqual(inspector.pinned_version(">=4.2"), ">=4.2")
        self.assertIsNone(inspector.pinned_version("*"))
        self.assertIsNone(inspector.pinned_version(None))


class GuessTests(unittest.TestCase):
    def test_the_title_is_the_repository_name_of_the_url(self):
        self.assertEqual(inspector.title_from("https://github.com/acme/my-shop.git"), "my-shop")
        self.assertEqual(inspector.title_from("git@github.com:acme/shop.git?x=1"), "shop")

    def test_the_application_of_a_gunicorn_command_skips_options_and_their_values(self):
        self.assertEqual(inspector.gunicorn_application("gunicorn -w 3 --preload shop.wsgi:application"),
                         "shop.wsgi")
        self.assertEqual(inspector.gunicorn_application("bin/gunicorn --bind=0:80 shop.wsgi:app"), "shop.wsgi:app")
        self.assertIsNone(inspector.gunicorn_application("python manage.py runserver"))
        self.assertIsNone(inspector.gunicorn_application("gunicorn 'unterminated"))

    def test_database_engines_and_urls_map_to_kinds(self):
        self.assertEqual(inspector.engine_from_url("postgres://u@h/db"), "django.db.backends.postgresql")
        self.assertIsNone(inspector.engine_from_url("redis://h"))
        self.assertEqual(inspector.database_kind("django.contrib.gis.db.backends.postgis"), "postgis")
        self.assertEqual(inspector.database_kind("django.db.backends.sqlite3"), "sqlite")
        self.assertIsNone(inspector.database_kind("django.db.backends.oracle"))


class MainTests(unittest.TestCase):
    def test_a_small_project_is_django_with_its_settings_and_wsgi_module(self):
        with tempfile.TemporaryDirectory() as root:
            write(root, "manage.py", "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'shop.settings')\n")
            write(root, "shop/__init__.py", "")
            write(root, "shop/settings.py", "DEBUG = False\nALLOWED_HOSTS = ['shop.example.com']\n"
                  "INSTALLED_APPS = ['django.contrib.staticfiles']\nSTATIC_URL = '/static/'\n"
                  "STATIC_ROOT = '/srv/static'\nROOT_URLCONF = 'shop.urls'\nWSGI_APPLICATION = 'shop.wsgi.application'\n")
            write(root, "shop/urls.py", "urlpatterns = []\n")
            write(root, "shop/wsgi.py", "from django.core.wsgi import get_wsgi_application\n"
                  "application = get_wsgi_application()\n")
            write(root, "requirements.txt", "Django==4.2.7\n")
            status, output, _ = run(root, "https://example.com/acme/shop.git")
        self.assertEqual(status, 0)
        self.assertTrue(output["is_django"])
        primary = {guess["field"]: guess["value"] for guess in output["guesses"] if guess["is_primary"]}
        self.assertEqual(primary.get("django_settings_module"), "shop.settings", primary)
        self.assertEqual(primary.get("wsgi_module"), "shop.wsgi", primary)
        self.assertEqual(primary.get("manage_py"), "manage.py", primary)
        self.assertEqual(primary.get("title"), "shop", primary)
        self.assertEqual(primary.get("django_version"), "4.2.7", primary)
        self.assertEqual(primary.get("site_media_map"), "/static/ /srv/static", primary)

    def test_a_directory_without_django_is_not_django_and_has_no_guesses(self):
        with tempfile.TemporaryDirectory() as root:
            write(root, "README", "nothing here\n")
            status, output, _ = run(root)
        self.assertEqual(status, 0)
        self.assertFalse(output["is_django"])
        self.assertEqual(output["guesses"], [])

    def test_a_missing_repository_exits_66_and_says_so(self):
        with tempfile.TemporaryDirectory() as root:
            status, _, stderr = run(os.path.join(root, "absent"))
        self.assertEqual(status, 66)
        self.assertIn("not a directory", stderr)


if __name__ == "__main__":
    unittest.main()
