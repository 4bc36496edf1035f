"""Throwaway Django 5.2 settings for the stand-in smoke test (django-mongodb-backend).

The connection comes from the environment: STANDIN_MONGODB_URI (with credentials)
and STANDIN_DB_NAME.  The contrib apps' ObjectId AppConfigs and their migrations are the
reference app's own (app/hellodjango/apps.py, app/mongo_migrations/), as in
django-mongodb-backend's project template: app/ is put on sys.path here, so the smoke test
migrates with exactly what a deployment migrates with.
"""

import os
import sys
from pathlib import Path

# <repository>/app: tests/standin/tests/django_site/standin_site/settings.py is five levels down.
APP_DIR = Path(__file__).resolve().parents[5] / "app"
if str(APP_DIR) not in sys.path:
    sys.path.insert(0, str(APP_DIR))

SECRET_KEY = "standin-smoke-test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "hellodjango.apps.MongoAdminConfig",
    "hellodjango.apps.MongoAuthConfig",
    "hellodjango.apps.MongoContentTypesConfig",
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

ROOT_URLCONF = "standin_site.urls"

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

DATABASES = {
    "default": {
        "ENGINE": "django_mongodb_backend",
        "HOST": os.environ.get("STANDIN_MONGODB_URI", "mongodb://127.0.0.1:27017/"),
        "NAME": os.environ.get("STANDIN_DB_NAME", "standin_smoke"),
    },
}

DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"

# The app's migrations of the contrib apps, generated for ObjectIdAutoField (app/mongo_migrations).
MIGRATION_MODULES = {
    "admin": "mongo_migrations.admin",
    "auth": "mongo_migrations.auth",
    "contenttypes": "mongo_migrations.contenttypes",
}

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
