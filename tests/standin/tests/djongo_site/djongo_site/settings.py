"""Throwaway Django 3.1 + djongo 1.3.7 settings for the stand-in smoke test.

Connection from the environment: STANDIN_MONGODB_HOST/PORT, STANDIN_DB_NAME,
STANDIN_DB_USER/PASSWORD (authSource = the app database).
"""

import os

SECRET_KEY = "standin-djongo-smoke-test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "djongo_site.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

_db = os.environ.get("STANDIN_DB_NAME", "djongo_smoke")
_client = {
    "host": os.environ.get("STANDIN_MONGODB_HOST", "127.0.0.1"),
    "port": int(os.environ.get("STANDIN_MONGODB_PORT", "27017")),
}
if os.environ.get("STANDIN_DB_USER"):
    _client.update(username=os.environ["STANDIN_DB_USER"],
                   password=os.environ.get("STANDIN_DB_PASSWORD"),
                   authSource=_db, authMechanism="SCRAM-SHA-256")
DATABASES = {
    "default": {
        "ENGINE": "djongo",
        "NAME": _db,
        "ENFORCE_SCHEMA": False,
        "CLIENT": _client,
    },
}

DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = False
STATIC_URL = "/static/"
