"""
Read the deployment's environment JSON file.

The deploy role (and the uWSGI systemd unit) sets DJANGO_ENV_FILE to the path
of a flat JSON object, in the spirit of dotCloud's environment.json. This
module turns that file into a typed ``Environment`` and derives the
connector-specific DATABASES entry from it. It imports nothing from Django's
settings machinery, so it works (and is tested) on both supported Django lines.
"""

import json
from dataclasses import dataclass, field
from importlib.util import find_spec
from urllib.parse import parse_qsl, unquote

from django.core.exceptions import ImproperlyConfigured

ENV_FILE_VARIABLE = "DJANGO_ENV_FILE"

CONNECTOR_BACKEND = "django_mongodb_backend"
CONNECTOR_DJONGO = "djongo"

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
    """The typed contents of the environment file."""

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
    """Read and type the environment JSON file at ``path``."""
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
    """Type a decoded environment mapping and return an Environment.

    Only the file's shape is checked here (each key present when required, and
    of its JSON type): the deploy role writes this file from values it has
    already validated, so the values themselves are not checked again.
    """
    if not isinstance(data, dict):
        raise ImproperlyConfigured(
            f"The environment file {source} must contain a JSON object, not {_json_type(data)}."
        )
    reader = _Reader(data, source)

    # DOTCLOUD_DB_MONGODB_URL: dotCloud's name, read when MONGODB_URL is absent.
    url_key = "MONGODB_URL" if "MONGODB_URL" in data else "DOTCLOUD_DB_MONGODB_URL"
    if url_key not in data:
        raise reader.missing(
            "MONGODB_URL", "DOTCLOUD_DB_MONGODB_URL is accepted as a legacy fallback"
        )
    mongodb_url = reader.get(url_key, str)
    mongodb_name = reader.get("MONGODB_NAME", str, default=None)
    if mongodb_name is None:
        mongodb_name = _database_from_url(mongodb_url)
        if not mongodb_name:
            raise reader.missing("MONGODB_NAME", f"{url_key} has no /database path to default to")

    return Environment(
        secret_key=reader.get("DJANGO_SECRET_KEY", str),
        debug=reader.get("DJANGO_DEBUG", bool, default=False),
        allowed_hosts=reader.get("DJANGO_ALLOWED_HOSTS", list),
        csrf_trusted_origins=reader.get("DJANGO_CSRF_TRUSTED_ORIGINS", list, default=[]),
        db_connector=reader.get("DJANGO_DB_CONNECTOR", str),
        mongodb_url=mongodb_url,
        mongodb_name=mongodb_name,
        media_root=reader.get("DJANGO_MEDIA_ROOT", str),
        media_url=reader.get("DJANGO_MEDIA_URL", str, default="/media/"),
        static_root=reader.get("DJANGO_STATIC_ROOT", str),
        static_url=reader.get("DJANGO_STATIC_URL", str, default="/static/"),
        https=reader.get("DJANGO_HTTPS", bool),
        hsts_seconds=reader.get("DJANGO_HSTS_SECONDS", int, default=0),
        hsts_include_subdomains=reader.get("DJANGO_HSTS_INCLUDE_SUBDOMAINS", bool, default=False),
        hsts_preload=reader.get("DJANGO_HSTS_PRELOAD", bool, default=False),
        log_level=reader.get("DJANGO_LOG_LEVEL", str, default="INFO"),
        release_id=reader.get("DJANGO_RELEASE_ID", str, default=""),
        silenced_system_checks=reader.get("DJANGO_SILENCED_SYSTEM_CHECKS", list, default=[]),
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


# The JSON types of the keys: what a message calls each, and how to test a value
# (JSON true is a Python bool, and bool is an int: an integer key refuses it).
_EXPECTED = {
    str: ("a string", lambda value: isinstance(value, str)),
    bool: ("true or false", lambda value: isinstance(value, bool)),
    int: ("an integer", lambda value: isinstance(value, int) and not isinstance(value, bool)),
    list: (
        "a list of strings",
        lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value),
    ),
}


class _Reader:
    """Typed access to the keys of the environment mapping."""

    def __init__(self, data, source):
        self.data = data
        self.source = source

    def missing(self, key, reason=""):
        detail = f" ({reason})" if reason else ""
        return ImproperlyConfigured(
            f"The environment file {self.source} is missing the required key {key}{detail}."
        )

    def get(self, key, kind, default=_MISSING):
        """The value of ``key``, of JSON type ``kind``; ``default`` when absent, if given."""
        if key not in self.data:
            if default is _MISSING:
                raise self.missing(key)
            return list(default) if isinstance(default, list) else default
        value = self.data[key]
        expected, is_valid = _EXPECTED[kind]
        if not is_valid(value):
            raise ImproperlyConfigured(
                f"{key} in the environment file {self.source} must be {expected}, "
                f"not {_json_type(value)}."
            )
        return value
