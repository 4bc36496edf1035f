"""
Settings for the hellodjango reference project.

Everything that differs between deployments comes from the environment JSON
file named by the DJANGO_ENV_FILE environment variable (see
hellodjango/environment.py and README.md). This one module serves both
supported connectors:

- django_mongodb_backend on Django 5.2 (the default), and
- djongo on Django 3.1 (legacy alternative; see README.md for its caveats).
"""

import os

import django

from hellodjango.environment import (
    CONNECTOR_BACKEND,
    ENV_FILE_VARIABLE,
    databases_setting,
    load_environment,
    mongo_client_settings,
)

# Lower case: a helper, not a setting.
env = load_environment(os.environ.get(ENV_FILE_VARIABLE))

SECRET_KEY = env.secret_key
DEBUG = env.debug
ALLOWED_HOSTS = env.allowed_hosts

if django.VERSION >= (4, 0):
    CSRF_TRUSTED_ORIGINS = env.csrf_trusted_origins
else:
    # Before Django 4.0 the entries are bare hosts without the scheme, and
    # ".example.com" (not "*.example.com") matches the subdomains.
    CSRF_TRUSTED_ORIGINS = [
        origin.split("://", 1)[1].replace("*.", ".", 1) for origin in env.csrf_trusted_origins
    ]

# The release being served, shown on the index page (optional).
RELEASE_ID = env.release_id

# Application definition

if env.db_connector == CONNECTOR_BACKEND:
    # The contrib apps' AppConfigs pin AutoField; MongoDB needs ObjectId keys.
    contrib_apps = [
        "hellodjango.apps.MongoAdminConfig",
        "hellodjango.apps.MongoAuthConfig",
        "hellodjango.apps.MongoContentTypesConfig",
    ]
else:
    contrib_apps = [
        "django.contrib.admin",
        "django.contrib.auth",
        "django.contrib.contenttypes",
    ]

INSTALLED_APPS = contrib_apps + [
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "hellodjango.core.apps.CoreConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "hellodjango.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "hellodjango.wsgi.application"

# Database

DATABASES = databases_setting(env)

# Not a Django setting: MongoClient keyword arguments (the connection string
# without credentials as "host", then "username", "password" and client
# options) for the connector-neutral health check and wait_for_db
# (hellodjango/core/mongo.py).
MONGODB_CLIENT = mongo_client_settings(env.mongodb_url)

if env.db_connector == CONNECTOR_BACKEND:
    DEFAULT_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"
    # Migrations of the contrib apps generated for ObjectIdAutoField (as in
    # django-mongodb-backend's project template); djongo uses Django's own.
    MIGRATION_MODULES = {
        "admin": "mongo_migrations.admin",
        "auth": "mongo_migrations.auth",
        "contenttypes": "mongo_migrations.contenttypes",
    }

# Password validation

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Internationalization

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# Static files and uploads: nginx serves both directories directly.

STATIC_URL = env.static_url
STATIC_ROOT = env.static_root
# Collected files get a content hash in their names (site.0123456789ab.css), so nginx lets
# browsers cache them for a year and a deploy still reaches every browser at once.
if django.VERSION >= (4, 2):
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
else:
    STATICFILES_STORAGE = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
MEDIA_URL = env.media_url
MEDIA_ROOT = env.media_root

# Security

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

if env.https:
    # nginx terminates TLS and tells the app through X-Forwarded-Proto. nginx
    # must set (not pass through) that header, or clients could spoof it.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    # Local probes (/healthz) and the load balancer's rotation check (/healthz/live) may
    # call the health checks over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz(/live)?$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

SECURE_HSTS_SECONDS = env.hsts_seconds
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.hsts_include_subdomains
SECURE_HSTS_PRELOAD = env.hsts_preload

# Checks the deployment deliberately does not follow, e.g. security.W021 when the site is
# not meant for the browsers' HSTS preload lists.
SILENCED_SYSTEM_CHECKS = env.silenced_system_checks

# Logging: everything to stderr, where uWSGI and journald pick it up.

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
        },
    },
    "root": {"handlers": ["stderr"], "level": env.log_level},
    "loggers": {
        # Django's default config sends these to the console only when DEBUG
        # is on, or mails them to ADMINS; route them to stderr instead.
        "django": {"handlers": [], "level": env.log_level, "propagate": True},
        # PyMongo logs every command and heartbeat at DEBUG; keep its chatter
        # out of the journal unless it reports a problem.
        "pymongo": {"level": "WARNING"},
    },
}
