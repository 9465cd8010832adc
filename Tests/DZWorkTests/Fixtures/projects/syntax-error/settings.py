# a leftover from an old layout
DEBUG = True
ROOT_URLCONF = "urls"
INSTALLED_APPS = [
    "django.contrib.auth"
