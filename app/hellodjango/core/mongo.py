"""
Connector-neutral access to MongoDB for the health check and wait_for_db.

Both connectors hand their settings to PyMongo, so these helpers talk to
MongoDB through PyMongo directly, with the same connection string, credentials
and client options (settings.MONGODB_CLIENT), instead of relying on either
connector's internals.
"""

import threading

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS
from pymongo import MongoClient

from hellodjango.environment import mongodb_hosts, redact

_clients = {}
_clients_lock = threading.Lock()


def client_settings():
    """MongoClient keyword arguments, as settings.MONGODB_CLIENT holds them."""
    return dict(settings.MONGODB_CLIENT)


def database_name(alias=DEFAULT_DB_ALIAS):
    # Read at call time: the test runner switches NAME to the test database.
    return settings.DATABASES[alias]["NAME"]


def new_client(kwargs=None):
    """A MongoClient that connects on first use."""
    return MongoClient(connect=False, **(kwargs or client_settings()))


def shared_client():
    """
    Return a MongoClient for the current settings, shared across requests.

    Creating a client per request would start new monitoring threads and
    connections every time. The client connects on first use, so each uWSGI
    worker gets its own after forking.
    """
    kwargs = client_settings()
    key = tuple(sorted(kwargs.items()))
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = new_client(kwargs)
    return client


def ping(alias=DEFAULT_DB_ALIAS):
    """Run the ping command on the configured database; raise PyMongoError."""
    shared_client()[database_name(alias)].command("ping")


def describe_error(exc, kwargs=None):
    """One short line describing a PyMongo error, without the password."""
    kwargs = kwargs or client_settings()
    message = str(exc).strip()
    text = message.splitlines()[0] if message else ""
    # Server selection errors append a long topology description.
    text = text.split(", Topology Description:", 1)[0]
    if len(text) > 300:
        text = text[:297] + "..."
    text = redact(text, kwargs.get("password"))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def describe_target(alias=DEFAULT_DB_ALIAS, kwargs=None):
    """'db1:27017/hellodjango': where the app looks for MongoDB, no secrets."""
    kwargs = kwargs or client_settings()
    return f"{mongodb_hosts(kwargs['host'])}/{database_name(alias)}"
