/// The settings module dz puts beside the project's code (`dz_settings.py`): it imports the project's settings and
/// overrides what the platform decides at run time, from the environment the appserver gives the app:
///
/// - `DATABASES['default']` from `DZ_DATABASE_URL` (`postgresql://user:password@host:port/name` or
///   `sqlite:////absolute/path`), parsed here so that the project needs no dj-database-url;
/// - `ALLOWED_HOSTS` from `DZ_HOSTNAMES` (comma-separated; `*.example.com` becomes `.example.com`);
/// - `STATIC_ROOT` inside the bundle, `DEBUG = False`, `SECRET_KEY` from `DZ_SECRET_KEY` when set;
/// - `MEDIA_ROOT` from `DZ_MEDIA_ROOT` (the app's media directory on the appserver, outside every release, see
///   `MediaDirectory`), so that uploads survive redeploys and rollbacks; `MEDIA_URL` stays the project's and is
///   `/media/` when the project leaves it empty (Django's default), so that nginx has a prefix to serve it at.
///   At build time `DZ_MEDIA_ROOT` is unset and the project's `MEDIA_ROOT` is kept;
/// - `LOGGING`, unless the project set `LOGGING` or `LOGGING_CONFIG` itself: Django's default sends its errors
///   (`django.request`'s 500s with their traceback) only to the console when `DEBUG` is on, and by mail to
///   `ADMINS` otherwise, so with `DEBUG = False` an app's errors went nowhere. dz's sends `django`'s records from
///   INFO and every other logger's from WARNING to standard error, which gunicorn (`--capture-output`) writes to
///   the instance's error log, where `dz logs` and a failing health check show them; Django's mail to `ADMINS`
///   is kept. A project that configures logging itself has chosen where its errors go: its choice is left alone.
package enum SettingsOverride {
    package static let moduleName = "dz_settings"

    static func module(projectSettings: String) -> String {
        """
        # Written by dz at build time. The project's own settings, then what the platform decides.
        import os as _dz_os
        from urllib.parse import urlsplit as _dz_urlsplit, unquote as _dz_unquote

        from \(projectSettings) import *  # noqa: F401,F403

        _dz_bundle = _dz_os.path.dirname(_dz_os.path.dirname(_dz_os.path.abspath(__file__)))


        def _dz_database(url):
            parts = _dz_urlsplit(url)
            if parts.scheme == "sqlite":
                return {"ENGINE": "django.db.backends.sqlite3", "NAME": parts.path if parts.path else ":memory:"}
            engines = {
                "postgresql": "django.db.backends.postgresql",
                "postgres": "django.db.backends.postgresql",
                "postgis": "django.contrib.gis.db.backends.postgis",
                "mysql": "django.db.backends.mysql",
            }
            if parts.scheme not in engines:
                raise ValueError("DZ_DATABASE_URL: unknown scheme %r" % parts.scheme)
            return {
                "ENGINE": engines[parts.scheme],
                "NAME": _dz_unquote(parts.path.lstrip("/")),
                "USER": _dz_unquote(parts.username or ""),
                "PASSWORD": _dz_unquote(parts.password or ""),
                "HOST": parts.hostname or "",
                "PORT": str(parts.port or ""),
            }


        if _dz_os.environ.get("DZ_DATABASE_URL"):
            DATABASES = {"default": _dz_database(_dz_os.environ["DZ_DATABASE_URL"])}

        ALLOWED_HOSTS = [
            ("." + _h[2:]) if _h.startswith("*.") else _h
            for _h in _dz_os.environ.get("DZ_HOSTNAMES", "").split(",")
            if _h
        ] or ["localhost", "127.0.0.1"]
        STATIC_ROOT = _dz_os.path.join(_dz_bundle, "static")
        DEBUG = False
        if _dz_os.environ.get("DZ_SECRET_KEY"):
            SECRET_KEY = _dz_os.environ["DZ_SECRET_KEY"]
        if _dz_os.environ.get("DZ_MEDIA_ROOT"):
            MEDIA_ROOT = _dz_os.environ["DZ_MEDIA_ROOT"]
        if not globals().get("MEDIA_URL"):
            MEDIA_URL = "/media/"

        if "LOGGING" not in globals() and "LOGGING_CONFIG" not in globals():
            LOGGING = {
                "version": 1,
                "disable_existing_loggers": False,
                "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
                "formatters": {
                    "dz": {"format": "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"},
                },
                "handlers": {
                    "dz_stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "dz"},
                    "mail_admins": {
                        "level": "ERROR",
                        "filters": ["require_debug_false"],
                        "class": "django.utils.log.AdminEmailHandler",
                    },
                },
                "root": {"handlers": ["dz_stderr"], "level": "WARNING"},
                "loggers": {
                    "django": {"handlers": ["dz_stderr", "mail_admins"], "level": "INFO", "propagate": False},
                },
            }

        """
    }
}
