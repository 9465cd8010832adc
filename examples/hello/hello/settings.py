"""Settings of the hello project, dz's example Django project.

Everything that differs between a laptop and a deployment comes from the
environment, with defaults that are safe to deploy: DEBUG is off unless
DJANGO_DEBUG says otherwise, and ALLOWED_HOSTS is empty (so Django answers
only when DJANGO_ALLOWED_HOSTS names the site, or when DEBUG is on, localhost).
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

# The default key is for development only: Django starts with it whatever
# DEBUG is, so every deployment must set DJANGO_SECRET_KEY.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-dev-key-set-DJANGO_SECRET_KEY-in-production")

DEBUG = os.environ.get("DJANGO_DEBUG", "").lower() in ("1", "true", "yes", "on")

# Comma-separated host names, e.g. DJANGO_ALLOWED_HOSTS=hello.example.com,www.hello.example.com
ALLOWED_HOSTS = [host.strip() for host in os.environ.get("DJANGO_ALLOWED_HOSTS", "").split(",") if host.strip()]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "greetings",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hello.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    },
]

WSGI_APPLICATION = "hello.wsgi.application"

# SQLite beside the project by default; DJANGO_DB_PATH moves the file.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
