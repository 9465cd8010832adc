"""Settings of the broken project: a Django app that fails in the way its
BREAK file (beside manage.py) names, to show what dz says when an app goes
wrong. BREAK holds one word:

    settings   the settings do not import: they need an environment variable
               that is not set (at build time, dz's import check fails)
    migration  the migration 0002 fails (it quotes the config value
               BROKEN_API_TOKEN, which dz masks in what it shows)
    view       the home page raises (HTTP 500): the health check fails
    none       nothing breaks
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
BREAK = (BASE_DIR / "BREAK").read_text().strip() if (BASE_DIR / "BREAK").exists() else "none"

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-dev-key")
DEBUG = False
ALLOWED_HOSTS = ["localhost"]

if BREAK == "settings":
    # As a project that reads a credential it forgot to ask for.
    PAYMENT_API_KEY = os.environ["BROKEN_PAYMENT_API_KEY"]

INSTALLED_APPS = ["django.contrib.contenttypes", "shop"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "broken.urls"
TEMPLATES = []
WSGI_APPLICATION = "broken.wsgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE_DIR / "db.sqlite3")}}
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
