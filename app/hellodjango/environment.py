"""
Read the deployment's environment JSON file.

The deploy role (and the uWSGI systemd unit) sets DJANGO_ENV_FILE to the path
of a flat JSON object, in the spirit of dotCloud's environment.json. This
module turns that file into a validated, typed ``Environment`` and derives the
connector-specific DATABASES entry from it. It imports nothing from Django's
settings machinery, so it works (and is tested) on both supported Django lines.
"""

import json
import re
import os
from dataclasses import dataclass, field
from importlib.util import find_spec
from urllib.parse import parse_qsl, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured
from pymongo.errors import PyMongoError
from pymongo.uri_parser import parse_uri

ENV_FILE_VARIABLE = "DJANGO_ENV_FILE"

CONNECTOR_BACKEND = "django_mongodb_backend"
CONNECTOR_DJONGO = "djongo"
CONNECTORS = (CONNECTOR_BACKEND, CONNECTOR_DJONGO)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# How long the driver may look for a usable server before an operation fails.
# Health checks and request handling must fail fast when MongoDB is down
# instead of hanging for the driver's default of 30 seconds.
DEFAULT_CLIENT_OPTIONS = {
    "serverSelectionTimeoutMS": 3000,
    "connectTimeoutMS": 3000,
    "appname": "hellodjango",
}

_MISSING = object()


@dataclass(frozen=True)
class Environment:
    """The validated contents of the environment file."""

    # Secrets stay out of repr(), and so out of logs and tracebacks.
    secret_key: str = field(repr=False)
    debug: bool
    allowed_hosts: list
    csrf_trusted_origins: list
    db_connector: str
    mongodb_url: str = field(repr=False)
    mongodb_name: str
    media_root: str
    media_url: str
    static_root: str
    static_url: str
    https: bool
    hsts_seconds: int
    hsts_include_subdomains: bool
    hsts_preload: bool
    log_level: str
    release_id: str
    silenced_system_checks: list
    source: str = field(default="", compare=False)


def load_environment(path):
    """Read and validate the environment JSON file at ``path``."""
    if not path:
        raise ImproperlyConfigured(
            f"The environment variable {ENV_FILE_VARIABLE} is not set. Point it at "
            "the deployment's environment JSON file (for local development, a "
            "copy of app/env.dev.example.json)."
        )
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except FileNotFoundError:
        raise ImproperlyConfigured(
            f"{ENV_FILE_VARIABLE} points to {path}, which does not exist."
        ) from None
    except OSError as exc:
        raise ImproperlyConfigured(
            f"Cannot read the environment file {path} ({ENV_FILE_VARIABLE}): "
            f"{exc.strerror or exc}."
        ) from None
    except (UnicodeDecodeError, ValueError) as exc:
        raise ImproperlyConfigured(
            f"The environment file {path} ({ENV_FILE_VARIABLE}) is not valid JSON: {exc}."
        ) from None
    return parse_environment(data, source=str(path))


def parse_environment(data, source="<environment>"):
    """Validate a decoded environment mapping and return an Environment."""
    if not isinstance(data, dict):
        raise ImproperlyConfigured(
            f"The environment file {source} must contain a JSON object, not {_json_type(data)}."
        )
    reader = _Reader(data, source)

    secret_key = reader.string("DJANGO_SECRET_KEY")
    debug = reader.boolean("DJANGO_DEBUG", default=False)
    allowed_hosts = reader.string_list("DJANGO_ALLOWED_HOSTS")
    csrf_trusted_origins = reader.string_list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
    for origin in csrf_trusted_origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise reader.error(
                "DJANGO_CSRF_TRUSTED_ORIGINS",
                f'entries must look like "https://example.com", got {origin!r}',
            )

    db_connector = reader.string("DJANGO_DB_CONNECTOR")
    if db_connector not in CONNECTORS:
        raise reader.error(
            "DJANGO_DB_CONNECTOR",
            f"must be one of {', '.join(map(repr, CONNECTORS))}, got {db_connector!r}",
        )

    if "MONGODB_URL" in data:
        url_key = "MONGODB_URL"
    elif "DOTCLOUD_DB_MONGODB_URL" in data:
        url_key = "DOTCLOUD_DB_MONGODB_URL"
    else:
        raise reader.missing(
            "MONGODB_URL", "DOTCLOUD_DB_MONGODB_URL is accepted as a legacy fallback"
        )
    mongodb_url = reader.string(url_key)
    if not mongodb_url.startswith(("mongodb://", "mongodb+srv://")):
        raise reader.error(url_key, "must be a mongodb:// or mongodb+srv:// connection string")
    if not mongodb_hosts(mongodb_url):
        raise reader.error(url_key, "does not name a host")
    if mongodb_url.startswith("mongodb://"):
        # Let PyMongo validate the string now rather than at the first query.
        # (mongodb+srv:// strings are left alone: parsing them queries DNS.)
        try:
            parse_uri(mongodb_url, warn=False)
        except (PyMongoError, ValueError) as exc:
            raise reader.error(
                url_key,
                "is not a valid connection string: "
                + redact(str(exc).rstrip("."), split_credentials(mongodb_url)[2]),
            ) from None

    mongodb_name = reader.string("MONGODB_NAME", default=None)
    if mongodb_name is None:
        mongodb_name = _database_from_url(mongodb_url)
        if not mongodb_name:
            raise reader.missing("MONGODB_NAME", f"{url_key} has no /database path to default to")

    media_root = reader.absolute_path("DJANGO_MEDIA_ROOT")
    media_url = reader.url_prefix("DJANGO_MEDIA_URL", default="/media/")
    static_root = reader.absolute_path("DJANGO_STATIC_ROOT")
    static_url = reader.url_prefix("DJANGO_STATIC_URL", default="/static/")

    https = reader.boolean("DJANGO_HTTPS")
    hsts_seconds = reader.integer("DJANGO_HSTS_SECONDS", default=0, minimum=0)
    if hsts_seconds and not https:
        raise reader.error(
            "DJANGO_HSTS_SECONDS",
            "must be 0 when DJANGO_HTTPS is false (browsers ignore HSTS over HTTP)",
        )
    hsts_include_subdomains = reader.boolean("DJANGO_HSTS_INCLUDE_SUBDOMAINS", default=False)
    hsts_preload = reader.boolean("DJANGO_HSTS_PRELOAD", default=False)

    log_level = reader.string("DJANGO_LOG_LEVEL", default="INFO").upper()
    if log_level not in LOG_LEVELS:
        raise reader.error("DJANGO_LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}")
    release_id = reader.string("DJANGO_RELEASE_ID", default="", allow_empty=True)
    silenced_system_checks = reader.string_list("DJANGO_SILENCED_SYSTEM_CHECKS", default=[])
    for check_id in silenced_system_checks:
        if not re.fullmatch(r"[a-z_]+\.[WEIC]\d{3}", check_id):
            raise reader.error(
                "DJANGO_SILENCED_SYSTEM_CHECKS",
                f'entries must be check ids such as "security.W021", got {check_id!r}',
            )

    return Environment(
        secret_key=secret_key,
        debug=debug,
        allowed_hosts=allowed_hosts,
        csrf_trusted_origins=csrf_trusted_origins,
        db_connector=db_connector,
        mongodb_url=mongodb_url,
        mongodb_name=mongodb_name,
        media_root=media_root,
        media_url=media_url,
        static_root=static_root,
        static_url=static_url,
        https=https,
        hsts_seconds=hsts_seconds,
        hsts_include_subdomains=hsts_include_subdomains,
        hsts_preload=hsts_preload,
        log_level=log_level,
        release_id=release_id,
        silenced_system_checks=silenced_system_checks,
        source=source,
    )


def _split_netloc(url):
    """Split a connection string into (scheme, netloc, rest after the netloc)."""
    scheme, _, remainder = url.partition("://")
    end = min((i for i in (remainder.find("/"), remainder.find("?")) if i >= 0), default=None)
    if end is None:
        return scheme, remainder, ""
    return scheme, remainder[:end], remainder[end:]


def mongodb_hosts(url):
    """
    Return the host list of a MongoDB connection string ("db1:27017,db2"),
    without the credentials, for use in messages.
    """
    return _split_netloc(url)[1].rpartition("@")[2]


def split_credentials(url):
    """
    Return (url without user information, username, password), the last two
    percent-decoded, or None when the connection string has none.
    """
    scheme, netloc, rest = _split_netloc(url)
    userinfo, at, hosts = netloc.rpartition("@")
    if not at:
        return url, None, None
    username, colon, password = userinfo.partition(":")
    return (
        f"{scheme}://{hosts}{rest}",
        unquote(username) or None,
        unquote(password) if colon else None,
    )


def redact(text, password):
    """Replace ``password`` in ``text`` with asterisks."""
    if password:
        text = text.replace(password, "***")
    return text


def client_options(url):
    """
    Return MongoClient keyword options for ``url``: the fail-fast defaults,
    minus any option that the connection string sets itself (the operator's
    explicit choice wins).
    """
    query = url.partition("?")[2]
    in_url = {key.lower() for key, _ in parse_qsl(query, keep_blank_values=True)}
    return {
        key: value for key, value in DEFAULT_CLIENT_OPTIONS.items() if key.lower() not in in_url
    }


def mongo_client_settings(url):
    """
    Return MongoClient keyword arguments for ``url``.

    The credentials move out of the connection string into "username" and
    "password", so that Django's settings filters (debug pages, error
    reports), which hide values under names containing PASS, hide the
    password.
    """
    host, username, password = split_credentials(url)
    kwargs = {"host": host}
    if username is not None:
        kwargs["username"] = username
    if password is not None:
        kwargs["password"] = password
    kwargs.update(client_options(url))
    return kwargs


def databases_setting(env):
    """Return the DATABASES setting for the configured connector."""
    package = env.db_connector
    if find_spec(package) is None:
        requirements = "mongodb-backend.txt" if package == CONNECTOR_BACKEND else "djongo.txt"
        raise ImproperlyConfigured(
            f"DJANGO_DB_CONNECTOR is {package!r} in {env.source or 'the environment'}, "
            f"but the {package} package is not installed in this Python "
            f"environment (install requirements/{requirements})."
        )
    client = mongo_client_settings(env.mongodb_url)
    if package == CONNECTOR_BACKEND:
        host = client.pop("host")
        username = client.pop("username", None)
        password = client.pop("password", None)
        default = {
            "ENGINE": "django_mongodb_backend",
            # The backend gives MongoClient the connection string in HOST,
            # USER and PASSWORD as username and password, and OPTIONS as
            # further keyword arguments.
            "HOST": host,
            "NAME": env.mongodb_name,
            "OPTIONS": client,
        }
        if username is not None:
            default["USER"] = username
        if password is not None:
            default["PASSWORD"] = password
    else:
        default = {
            "ENGINE": "djongo",
            "NAME": env.mongodb_name,
            "ENFORCE_SCHEMA": False,
            # djongo gives MongoClient CLIENT as keyword arguments.
            "CLIENT": client,
        }
    return {"default": default}


def _database_from_url(url):
    path = url.split("://", 1)[-1].partition("/")[2]
    return unquote(path.partition("?")[0])


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


class _Reader:
    """Typed access to the keys of the environment mapping."""

    def __init__(self, data, source):
        self.data = data
        self.source = source

    def error(self, key, problem):
        return ImproperlyConfigured(f"{key} in the environment file {self.source} {problem}.")

    def missing(self, key, reason=""):
        detail = f" ({reason})" if reason else ""
        return ImproperlyConfigured(
            f"The environment file {self.source} is missing the required key {key}{detail}."
        )

    def _get(self, key, default):
        value = self.data.get(key, _MISSING)
        if value is _MISSING:
            if default is _MISSING:
                raise self.missing(key)
            return _MISSING
        return value

    def _wrong_type(self, key, expected, value):
        return self.error(key, f"must be {expected}, not {_json_type(value)}")

    def string(self, key, default=_MISSING, allow_empty=False):
        value = self._get(key, default)
        if value is _MISSING:
            return default
        if not isinstance(value, str):
            raise self._wrong_type(key, "a string", value)
        if not allow_empty and not value.strip():
            raise self.error(key, "must not be empty")
        return value

    def boolean(self, key, default=_MISSING):
        value = self._get(key, default)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise self._wrong_type(key, "true or false", value)
        return value

    def integer(self, key, default=_MISSING, minimum=None):
        value = self._get(key, default)
        if value is _MISSING:
            return default
        if not isinstance(value, int) or isinstance(value, bool):
            raise self._wrong_type(key, "an integer", value)
        if minimum is not None and value < minimum:
            raise self.error(key, f"must be at least {minimum}")
        return value

    def string_list(self, key, default=_MISSING):
        value = self._get(key, default)
        if value is _MISSING:
            return list(default)
        if not isinstance(value, list):
            raise self._wrong_type(key, "a list of strings", value)
        for item in value:
            if not isinstance(item, str) or not item.strip():
                raise self.error(key, "must contain only non-empty strings")
        return list(value)

    def absolute_path(self, key):
        value = self.string(key)
        if not os.path.isabs(value):
            raise self.error(key, f"must be an absolute path, got {value!r}")
        return value

    def url_prefix(self, key, default):
        value = self.string(key, default=default)
        if not value.endswith("/"):
            raise self.error(key, f'must end with "/", got {value!r}')
        return value
