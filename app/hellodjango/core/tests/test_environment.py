"""Parsing and typing of the environment JSON file (no database needed)."""

import json
import tempfile
from pathlib import Path
from unittest import mock

from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase

from hellodjango import environment
from hellodjango.environment import (
    client_options,
    databases_setting,
    load_environment,
    mongo_client_settings,
    mongodb_hosts,
    parse_environment,
    redact,
    split_credentials,
)

from .helpers import valid_environment, write_json


class LoadEnvironmentFileTests(SimpleTestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def test_variable_not_set(self):
        for value in (None, ""):
            with self.subTest(value=value):
                with self.assertRaisesMessage(
                    ImproperlyConfigured, "The environment variable DJANGO_ENV_FILE is not set"
                ):
                    load_environment(value)

    def test_missing_file(self):
        path = str(Path(self.tmp.name) / "absent.json")
        msg = f"DJANGO_ENV_FILE points to {path}, which does not exist."
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            load_environment(path)

    def test_unreadable_file(self):
        # A directory cannot be opened as a file.
        with self.assertRaisesMessage(
            ImproperlyConfigured, f"Cannot read the environment file {self.tmp.name}"
        ):
            load_environment(self.tmp.name)

    def test_invalid_json(self):
        path = Path(self.tmp.name) / "broken.json"
        path.write_text('{"DJANGO_SECRET_KEY": ', encoding="utf-8")
        with self.assertRaisesMessage(
            ImproperlyConfigured,
            f"The environment file {path} (DJANGO_ENV_FILE) is not valid JSON",
        ):
            load_environment(str(path))

    def test_not_utf8(self):
        path = Path(self.tmp.name) / "latin1.json"
        path.write_bytes(b'{"DJANGO_SECRET_KEY": "caf\xe9"}')
        with self.assertRaisesMessage(ImproperlyConfigured, "is not valid JSON"):
            load_environment(str(path))

    def test_not_an_object(self):
        path = write_json(self.tmp.name, ["DJANGO_SECRET_KEY"])
        with self.assertRaisesMessage(
            ImproperlyConfigured,
            f"The environment file {path} must contain a JSON object, not a list.",
        ):
            load_environment(path)

    def test_valid_file(self):
        path = write_json(self.tmp.name, valid_environment(DJANGO_RELEASE_ID="20240101T1200"))
        env = load_environment(path)
        self.assertEqual(env.source, path)
        self.assertEqual(env.release_id, "20240101T1200")

    def test_errors_name_the_file(self):
        data = valid_environment()
        del data["DJANGO_SECRET_KEY"]
        path = write_json(self.tmp.name, data)
        msg = f"The environment file {path} is missing the required key DJANGO_SECRET_KEY."
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            load_environment(path)


class ParseEnvironmentTests(SimpleTestCase):
    def assertInvalid(self, key, problem, **overrides):
        message = f"{key} in the environment file env.json {problem}"
        with self.assertRaisesMessage(ImproperlyConfigured, message):
            parse_environment(valid_environment(**overrides), source="env.json")

    def test_all_keys(self):
        env = parse_environment(valid_environment(DJANGO_RELEASE_ID="r42"), source="env.json")
        self.assertEqual(env.secret_key, valid_environment()["DJANGO_SECRET_KEY"])
        self.assertIs(env.debug, False)
        self.assertEqual(env.allowed_hosts, ["www.example.com"])
        self.assertEqual(env.csrf_trusted_origins, ["https://www.example.com"])
        self.assertEqual(env.db_connector, "django_mongodb_backend")
        self.assertEqual(
            env.mongodb_url, "mongodb://app:pw@db1:27017/hellodjango?authSource=admin"
        )
        self.assertEqual(env.mongodb_name, "hellodjango")
        self.assertEqual(env.media_root, "/srv/hellodjango/shared/media")
        self.assertEqual(env.media_url, "/media/")
        self.assertEqual(env.static_root, "/srv/hellodjango/current/static")
        self.assertEqual(env.static_url, "/static/")
        self.assertIs(env.https, True)
        self.assertEqual(env.hsts_seconds, 31536000)
        self.assertIs(env.hsts_include_subdomains, True)
        self.assertIs(env.hsts_preload, True)
        self.assertEqual(env.log_level, "INFO")
        self.assertEqual(env.release_id, "r42")
        self.assertEqual(env.source, "env.json")

    def test_required_keys(self):
        for key in (
            "DJANGO_SECRET_KEY",
            "DJANGO_ALLOWED_HOSTS",
            "DJANGO_DB_CONNECTOR",
            "DJANGO_MEDIA_ROOT",
            "DJANGO_STATIC_ROOT",
            "DJANGO_HTTPS",
        ):
            with self.subTest(key=key):
                data = valid_environment()
                del data[key]
                msg = f"The environment file env.json is missing the required key {key}."
                with self.assertRaisesMessage(ImproperlyConfigured, msg):
                    parse_environment(data, source="env.json")

    def test_optional_keys_defaults(self):
        data = valid_environment()
        for key in (
            "DJANGO_DEBUG",
            "DJANGO_CSRF_TRUSTED_ORIGINS",
            "DJANGO_MEDIA_URL",
            "DJANGO_STATIC_URL",
            "DJANGO_HSTS_SECONDS",
            "DJANGO_HSTS_INCLUDE_SUBDOMAINS",
            "DJANGO_HSTS_PRELOAD",
            "DJANGO_LOG_LEVEL",
            "MONGODB_NAME",
            "DOTCLOUD_DB_MONGODB_URL",
        ):
            del data[key]
        env = parse_environment(data)
        self.assertIs(env.debug, False)
        self.assertEqual(env.csrf_trusted_origins, [])
        self.assertEqual(env.media_url, "/media/")
        self.assertEqual(env.static_url, "/static/")
        self.assertEqual(env.hsts_seconds, 0)
        self.assertIs(env.hsts_include_subdomains, False)
        self.assertIs(env.hsts_preload, False)
        self.assertEqual(env.log_level, "INFO")
        self.assertEqual(env.release_id, "")
        # The database name defaults to the connection string's path.
        self.assertEqual(env.mongodb_name, "hellodjango")

    def test_every_key_is_typed(self):
        # The role writes the file from values it has validated; the application
        # checks only the file's shape: each key of its JSON type.
        for key, wrong, expected, got in (
            ("DJANGO_SECRET_KEY", None, "a string", "null"),
            ("DJANGO_DEBUG", "false", "true or false", "a string"),
            ("DJANGO_ALLOWED_HOSTS", "www.example.com", "a list of strings", "a string"),
            ("DJANGO_ALLOWED_HOSTS", ["www.example.com", 3], "a list of strings", "a list"),
            ("DJANGO_CSRF_TRUSTED_ORIGINS", {}, "a list of strings", "an object"),
            ("DJANGO_DB_CONNECTOR", ["djongo"], "a string", "a list"),
            ("MONGODB_URL", 42, "a string", "a number"),
            ("MONGODB_NAME", False, "a string", "a boolean"),
            ("DJANGO_MEDIA_ROOT", None, "a string", "null"),
            ("DJANGO_MEDIA_URL", 1, "a string", "a number"),
            ("DJANGO_STATIC_ROOT", [], "a string", "a list"),
            ("DJANGO_STATIC_URL", None, "a string", "null"),
            ("DJANGO_HTTPS", 0, "true or false", "a number"),
            ("DJANGO_HSTS_SECONDS", "3600", "an integer", "a string"),
            ("DJANGO_HSTS_SECONDS", True, "an integer", "a boolean"),
            ("DJANGO_HSTS_SECONDS", 3600.5, "an integer", "a number"),
            ("DJANGO_HSTS_INCLUDE_SUBDOMAINS", None, "true or false", "null"),
            ("DJANGO_HSTS_PRELOAD", "yes", "true or false", "a string"),
            ("DJANGO_LOG_LEVEL", 20, "a string", "a number"),
            ("DJANGO_RELEASE_ID", 42, "a string", "a number"),
            ("DJANGO_SILENCED_SYSTEM_CHECKS", "security.W021", "a list of strings", "a string"),
        ):
            with self.subTest(key=key, value=wrong):
                self.assertInvalid(key, f"must be {expected}, not {got}.", **{key: wrong})

    def test_booleans_must_be_json_booleans(self):
        for key in (
            "DJANGO_DEBUG",
            "DJANGO_HTTPS",
            "DJANGO_HSTS_INCLUDE_SUBDOMAINS",
            "DJANGO_HSTS_PRELOAD",
        ):
            for value, kind in (("false", "a string"), (0, "a number"), (None, "null")):
                with self.subTest(key=key, value=value):
                    self.assertInvalid(
                        key,
                        f"must be true or false, not {kind}.",
                        **{key: value},
                    )

    def test_debug_true(self):
        self.assertIs(parse_environment(valid_environment(DJANGO_DEBUG=True)).debug, True)

    def test_empty_allowed_hosts_accepted(self):
        # With DEBUG off Django then refuses every request, and
        # check --deploy reports it; the file itself is well-formed.
        self.assertEqual(
            parse_environment(valid_environment(DJANGO_ALLOWED_HOSTS=[])).allowed_hosts, []
        )

    def test_values_are_not_checked_again(self):
        # What the role validated before writing the file is taken as written.
        env = parse_environment(
            valid_environment(
                DJANGO_CSRF_TRUSTED_ORIGINS=["http://localhost:8000", "https://*.example.com"],
                DJANGO_DB_CONNECTOR="djongo",
                DJANGO_STATIC_URL="https://cdn.example.com/static/",
                DJANGO_SILENCED_SYSTEM_CHECKS=["security.W021"],
            )
        )
        self.assertEqual(
            env.csrf_trusted_origins, ["http://localhost:8000", "https://*.example.com"]
        )
        self.assertEqual(env.db_connector, "djongo")
        self.assertEqual(env.static_url, "https://cdn.example.com/static/")
        self.assertEqual(env.silenced_system_checks, ["security.W021"])

    def test_mongodb_url_falls_back_to_dotcloud_key(self):
        data = valid_environment(
            DOTCLOUD_DB_MONGODB_URL="mongodb://legacy:pw@old-db:27017/legacy?authSource=legacy"
        )
        del data["MONGODB_URL"]
        del data["MONGODB_NAME"]
        env = parse_environment(data)
        self.assertEqual(
            env.mongodb_url, "mongodb://legacy:pw@old-db:27017/legacy?authSource=legacy"
        )
        self.assertEqual(env.mongodb_name, "legacy")

    def test_mongodb_url_preferred_over_dotcloud_key(self):
        env = parse_environment(
            valid_environment(DOTCLOUD_DB_MONGODB_URL="mongodb://legacy@old-db/legacy")
        )
        self.assertEqual(
            env.mongodb_url, "mongodb://app:pw@db1:27017/hellodjango?authSource=admin"
        )

    def test_mongodb_url_missing(self):
        data = valid_environment()
        del data["MONGODB_URL"]
        del data["DOTCLOUD_DB_MONGODB_URL"]
        msg = (
            "The environment file env.json is missing the required key MONGODB_URL "
            "(DOTCLOUD_DB_MONGODB_URL is accepted as a legacy fallback)."
        )
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            parse_environment(data, source="env.json")

    def test_mongodb_name(self):
        env = parse_environment(valid_environment(MONGODB_NAME="other"))
        self.assertEqual(env.mongodb_name, "other")
        data = valid_environment(MONGODB_URL="mongodb://app:pw@db1:27017/?authSource=admin")
        del data["MONGODB_NAME"]
        msg = (
            "The environment file env.json is missing the required key MONGODB_NAME "
            "(MONGODB_URL has no /database path to default to)."
        )
        with self.assertRaisesMessage(ImproperlyConfigured, msg):
            parse_environment(data, source="env.json")

    def test_release_id(self):
        self.assertEqual(parse_environment(valid_environment(DJANGO_RELEASE_ID="")).release_id, "")
        self.assertEqual(parse_environment(valid_environment()).silenced_system_checks, [])

    def test_unknown_keys_are_ignored(self):
        # PaaS-style environment files carry keys meant for other programs.
        env = parse_environment(valid_environment(PATH="/usr/bin", DOTCLOUD_SERVICE_NAME="www"))
        self.assertEqual(env.mongodb_name, "hellodjango")

    def test_non_object(self):
        with self.assertRaisesMessage(
            ImproperlyConfigured, "must contain a JSON object, not null."
        ):
            parse_environment(json.loads("null"), source="env.json")


class MongoUrlHelperTests(SimpleTestCase):
    def test_hosts_without_credentials(self):
        self.assertEqual(
            mongodb_hosts("mongodb://u:p%40ss@db1:27017,db2:27018/app?replicaSet=rs0"),
            "db1:27017,db2:27018",
        )
        self.assertEqual(mongodb_hosts("mongodb://db1/app"), "db1")
        self.assertEqual(
            mongodb_hosts("mongodb+srv://u:p@cluster.example.net/?tls=true"), "cluster.example.net"
        )
        # A (percent-encoded) "@" or ":" in the password does not leak.
        self.assertEqual(mongodb_hosts("mongodb://u:a%3Ab%40c@db1:27017"), "db1:27017")

    def test_redact(self):
        self.assertEqual(
            redact("auth failed for s@cret on db1", "s@cret"), "auth failed for *** on db1"
        )
        self.assertEqual(redact("nothing secret", None), "nothing secret")

    def test_split_credentials(self):
        self.assertEqual(
            split_credentials("mongodb://app:s%40c%3Aret@db1:27017,db2/app?authSource=admin"),
            ("mongodb://db1:27017,db2/app?authSource=admin", "app", "s@c:ret"),
        )
        self.assertEqual(
            split_credentials("mongodb+srv://app:pw@cluster.example.net/?tls=true"),
            ("mongodb+srv://cluster.example.net/?tls=true", "app", "pw"),
        )
        self.assertEqual(split_credentials("mongodb://user@db1"), ("mongodb://db1", "user", None))
        self.assertEqual(split_credentials("mongodb://db1/app"), ("mongodb://db1/app", None, None))

    def test_mongo_client_settings(self):
        self.assertEqual(
            mongo_client_settings("mongodb://app:p%2Fw@db1:27017/hellodjango?authSource=admin"),
            {
                "host": "mongodb://db1:27017/hellodjango?authSource=admin",
                "username": "app",
                "password": "p/w",
                "serverSelectionTimeoutMS": 3000,
                "connectTimeoutMS": 3000,
                "appname": "hellodjango",
            },
        )
        self.assertEqual(
            mongo_client_settings("mongodb://db1/app?connectTimeoutMS=100"),
            {
                "host": "mongodb://db1/app?connectTimeoutMS=100",
                "serverSelectionTimeoutMS": 3000,
                "appname": "hellodjango",
            },
        )

    def test_client_options_defaults(self):
        self.assertEqual(
            client_options("mongodb://app:pw@db1/app?authSource=admin"),
            {"serverSelectionTimeoutMS": 3000, "connectTimeoutMS": 3000, "appname": "hellodjango"},
        )

    def test_client_options_from_url_win(self):
        options = client_options("mongodb://db1/app?serverselectiontimeoutms=500&appName=shop")
        self.assertEqual(options, {"connectTimeoutMS": 3000})


class DatabasesSettingTests(SimpleTestCase):
    def test_backend(self):
        env = parse_environment(valid_environment())
        with mock.patch.object(environment, "find_spec", return_value=object()):
            databases = databases_setting(env)
        self.assertEqual(
            databases,
            {
                "default": {
                    "ENGINE": "django_mongodb_backend",
                    "HOST": "mongodb://db1:27017/hellodjango?authSource=admin",
                    "USER": "app",
                    "PASSWORD": "pw",
                    "NAME": "hellodjango",
                    "OPTIONS": {
                        "serverSelectionTimeoutMS": 3000,
                        "connectTimeoutMS": 3000,
                        "appname": "hellodjango",
                    },
                }
            },
        )

    def test_backend_without_credentials(self):
        env = parse_environment(valid_environment(MONGODB_URL="mongodb://db1/hellodjango"))
        with mock.patch.object(environment, "find_spec", return_value=object()):
            default = databases_setting(env)["default"]
        self.assertEqual(default["HOST"], "mongodb://db1/hellodjango")
        self.assertNotIn("USER", default)
        self.assertNotIn("PASSWORD", default)

    def test_djongo(self):
        env = parse_environment(
            valid_environment(DJANGO_DB_CONNECTOR="djongo", MONGODB_NAME="site")
        )
        with mock.patch.object(environment, "find_spec", return_value=object()):
            databases = databases_setting(env)
        self.assertEqual(
            databases,
            {
                "default": {
                    "ENGINE": "djongo",
                    "NAME": "site",
                    "ENFORCE_SCHEMA": False,
                    "CLIENT": {
                        "host": "mongodb://db1:27017/hellodjango?authSource=admin",
                        "username": "app",
                        "password": "pw",
                        "serverSelectionTimeoutMS": 3000,
                        "connectTimeoutMS": 3000,
                        "appname": "hellodjango",
                    },
                }
            },
        )

    def test_connector_not_installed(self):
        for connector, requirements in (
            ("django_mongodb_backend", "mongodb-backend.txt"),
            ("djongo", "djongo.txt"),
        ):
            with self.subTest(connector=connector):
                env = parse_environment(
                    valid_environment(DJANGO_DB_CONNECTOR=connector), source="env.json"
                )
                msg = (
                    f"DJANGO_DB_CONNECTOR is {connector!r} in env.json, but the {connector} "
                    "package is not installed in this Python environment (install "
                    f"requirements/{requirements})."
                )
                with mock.patch.object(environment, "find_spec", return_value=None):
                    with self.assertRaisesMessage(ImproperlyConfigured, msg):
                        databases_setting(env)
