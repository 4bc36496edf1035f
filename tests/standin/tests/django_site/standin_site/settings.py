"""Throwaway Django 5.2 settings for the stand-in smoke test (django-mongodb-backend).

The connection comes from the environment: STANDIN_MONGODB_URI (with credentials)
and STANDIN_DB_NAME.
"""

import os

SECRET_KEY = "standin-smoke-test-only-not-a-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "standin_site.apps.MongoAdminConfig",
    "standin_site.apps.MongoAuthConfig",
    "standin_site.apps.MongoContentTypesConfig",
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

MIGRATION_MODULES = {
    "admin": "mongo_migrations.admin",
    "auth": "mongo_migrations.auth",
    "contenttypes": "mongo_migrations.contenttypes",
}

USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
