"""
Settings as a deployment sees them. Settings are read once, at import time, so
these tests run manage.py in a fresh interpreter with their own environment
file.
"""

import json
import tempfile

import django
from django.core.management.utils import get_random_secret_key
from django.test import SimpleTestCase

from hellodjango.environment import split_credentials

from .helpers import (
    client_settings_for,
    current_environment,
    run_django,
    run_manage,
    valid_environment,
    write_json,
)

DUMP_SETTINGS = """
import json, logging
from django.conf import settings
from django.views.debug import SafeExceptionReporterFilter
names = [
    "DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SECURE_PROXY_SSL_HEADER",
    "SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT", "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY", "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS", "SECURE_REFERRER_POLICY", "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "STATIC_ROOT",
    "STATIC_URL", "MEDIA_ROOT", "MEDIA_URL", "RELEASE_ID", "MONGODB_CLIENT",
]
dump = {name: getattr(settings, name) for name in names}
dump["DATABASE"] = settings.DATABASES["default"]
dump["SAFE_SETTINGS"] = repr(SafeExceptionReporterFilter().get_safe_settings())
dump["RAW_SETTINGS"] = repr({name: getattr(settings, name) for name in dir(settings)})
dump["ROOT_LOG_LEVEL"] = logging.getLevelName(logging.getLogger().level)
print(json.dumps(dump))
"""


class SettingsProcessTestCase(SimpleTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        env = current_environment()
        cls.connector = env.db_connector
        cls.mongodb_url = env.mongodb_url

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def production_environment(self, **overrides):
        """A production-like environment for the connector under test."""
        data = valid_environment(
            DJANGO_SECRET_KEY=get_random_secret_key(),
            DJANGO_DB_CONNECTOR=self.connector,
            MONGODB_URL=self.mongodb_url,
            DJANGO_STATIC_ROOT=f"{self.tmp.name}/static",
            DJANGO_MEDIA_ROOT=f"{self.tmp.name}/media",
        )
        del data["DOTCLOUD_DB_MONGODB_URL"]
        data.update(overrides)
        return write_json(self.tmp.name, data)

    def dump_settings(self, env_file):
        result = run_django(DUMP_SETTINGS, env_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)


class StartupErrorTests(SettingsProcessTestCase):
    def test_env_file_variable_missing(self):
        result = run_manage("check")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(
            "ImproperlyConfigured: The environment variable DJANGO_ENV_FILE is not set",
            result.stderr,
        )

    def test_env_file_missing(self):
        path = f"{self.tmp.name}/nope.json"
        result = run_manage("check", env_file=path)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(f"DJANGO_ENV_FILE points to {path}, which does not exist.", result.stderr)

    def test_required_key_missing(self):
        data = valid_environment()
        del data["DJANGO_SECRET_KEY"]
        path = write_json(self.tmp.name, data)
        result = run_manage("check", env_file=path)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn(
            f"The environment file {path} is missing the required key DJANGO_SECRET_KEY.",
            result.stderr,
        )


class DeploymentSettingsTests(SettingsProcessTestCase):
    def test_https_settings(self):
        env_file = self.production_environment(
            DJANGO_ALLOWED_HOSTS=["www.example.com", "example.com"],
            DJANGO_CSRF_TRUSTED_ORIGINS=["https://www.example.com", "https://*.example.org"],
            DJANGO_RELEASE_ID="20250101T000000",
            DJANGO_LOG_LEVEL="WARNING",
        )
        dump = self.dump_settings(env_file)
        self.assertIs(dump["DEBUG"], False)
        self.assertEqual(dump["ALLOWED_HOSTS"], ["www.example.com", "example.com"])
        if django.VERSION >= (4, 0):
            self.assertEqual(
                dump["CSRF_TRUSTED_ORIGINS"], ["https://www.example.com", "https://*.example.org"]
            )
        else:
            self.assertEqual(dump["CSRF_TRUSTED_ORIGINS"], ["www.example.com", ".example.org"])
        self.assertEqual(dump["SECURE_PROXY_SSL_HEADER"], ["HTTP_X_FORWARDED_PROTO", "https"])
        self.assertIs(dump["SECURE_SSL_REDIRECT"], True)
        self.assertEqual(dump["SECURE_REDIRECT_EXEMPT"], ["^healthz(/live)?$"])
        self.assertIs(dump["SESSION_COOKIE_SECURE"], True)
        self.assertIs(dump["CSRF_COOKIE_SECURE"], True)
        self.assertIs(dump["SESSION_COOKIE_HTTPONLY"], True)
        self.assertIs(dump["SECURE_CONTENT_TYPE_NOSNIFF"], True)
        self.assertEqual(dump["X_FRAME_OPTIONS"], "DENY")
        self.assertEqual(dump["SECURE_REFERRER_POLICY"], "same-origin")
        self.assertEqual(dump["SECURE_HSTS_SECONDS"], 31536000)
        self.assertIs(dump["SECURE_HSTS_INCLUDE_SUBDOMAINS"], True)
        self.assertIs(dump["SECURE_HSTS_PRELOAD"], True)
        self.assertEqual(dump["STATIC_ROOT"], f"{self.tmp.name}/static")
        self.assertEqual(dump["MEDIA_ROOT"], f"{self.tmp.name}/media")
        self.assertEqual(dump["RELEASE_ID"], "20250101T000000")
        self.assertEqual(dump["DATABASE"]["NAME"], "hellodjango")
        self.assertEqual(dump["ROOT_LOG_LEVEL"], "WARNING")

    def test_database_settings_keep_the_password_hidden(self):
        dump = self.dump_settings(self.production_environment())
        host, username, password = split_credentials(self.mongodb_url)
        self.assertTrue(password)
        client = client_settings_for(self.mongodb_url)
        self.assertEqual(dump["MONGODB_CLIENT"], client)
        self.assertEqual(client["host"], host)
        self.assertEqual((client["username"], client["password"]), (username, password))
        database = dump["DATABASE"]
        if self.connector == "django_mongodb_backend":
            self.assertEqual(database["ENGINE"], "django_mongodb_backend")
            self.assertEqual(database["HOST"], host)
            self.assertEqual((database["USER"], database["PASSWORD"]), (username, password))
            self.assertEqual(database["OPTIONS"]["serverSelectionTimeoutMS"], 3000)
        else:
            self.assertEqual(database["ENGINE"], "djongo")
            self.assertEqual(database["CLIENT"], client)
        # Django's settings filter (debug pages, error reports) hides it.
        self.assertIn(password, dump["RAW_SETTINGS"])
        self.assertNotIn(password, dump["SAFE_SETTINGS"])

    def test_plain_http_settings(self):
        env_file = self.production_environment(
            DJANGO_HTTPS=False,
            DJANGO_HSTS_SECONDS=0,
            DJANGO_HSTS_INCLUDE_SUBDOMAINS=False,
            DJANGO_HSTS_PRELOAD=False,
        )
        dump = self.dump_settings(env_file)
        self.assertIsNone(dump["SECURE_PROXY_SSL_HEADER"])
        self.assertIs(dump["SECURE_SSL_REDIRECT"], False)
        self.assertIs(dump["SESSION_COOKIE_SECURE"], False)
        self.assertIs(dump["CSRF_COOKIE_SECURE"], False)
        self.assertEqual(dump["SECURE_HSTS_SECONDS"], 0)
        # Set whatever the scheme.
        self.assertIs(dump["SESSION_COOKIE_HTTPONLY"], True)
        self.assertEqual(dump["X_FRAME_OPTIONS"], "DENY")
        self.assertEqual(dump["ROOT_LOG_LEVEL"], "INFO")

    def test_https_redirect_spares_health_checks(self):
        # The home page links its stylesheet through the manifest collectstatic wrote for the run.
        env_file = self.production_environment(DJANGO_STATIC_ROOT=current_environment().static_root)
        script = (
            "from django.test import Client\n"
            "c = Client(HTTP_HOST='www.example.com')\n"
            "plain = c.get('/')\n"
            "proxied = c.get('/', HTTP_X_FORWARDED_PROTO='https')\n"
            "health = c.get('/healthz')\n"
            "live = c.get('/healthz/live')\n"
            "near = c.get('/healthz/lively')\n"
            "print(plain.status_code, plain.get('Location'), proxied.status_code,"
            " proxied.get('Strict-Transport-Security'), health.status_code, live.status_code,"
            " near.status_code, near.get('Location'))\n"
        )
        result = run_django(script, env_file)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(
            result.stdout.split(),
            [
                "301",
                "https://www.example.com/",
                "200",
                "max-age=31536000;",
                "includeSubDomains;",
                "preload",
                "200",
                "200",
                # The exemption is anchored: only the two health checks.
                "301",
                "https://www.example.com/healthz/lively",
            ],
        )

    def test_check_deploy_passes_without_warnings(self):
        env_file = self.production_environment()
        result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_file=env_file)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("System check identified no issues (0 silenced).", result.stdout)

    def test_check_deploy_without_preload_needs_w021_silenced(self):
        # A site that does not want to be on the browsers' preload lists: check --deploy warns
        # (security.W021) unless the environment silences that one check on purpose.
        env_file = self.production_environment(DJANGO_HSTS_PRELOAD=False)
        result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_file=env_file)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("security.W021", result.stdout + result.stderr)
        env_file = self.production_environment(
            DJANGO_HSTS_PRELOAD=False, DJANGO_SILENCED_SYSTEM_CHECKS=["security.W021"]
        )
        result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_file=env_file)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("System check identified no issues (1 silenced).", result.stdout)

    def test_check_deploy_reports_insecure_settings(self):
        env_file = self.production_environment(
            DJANGO_DEBUG=True,
            DJANGO_HTTPS=False,
            DJANGO_HSTS_SECONDS=0,
            DJANGO_SECRET_KEY="too-short",
        )
        result = run_manage("check", "--deploy", "--fail-level", "WARNING", env_file=env_file)
        self.assertNotEqual(result.returncode, 0)
        output = result.stdout + result.stderr
        for check_id in (
            "security.W004",
            "security.W008",
            "security.W009",
            "security.W012",
            "security.W016",
            "security.W018",
        ):
            with self.subTest(check_id=check_id):
                self.assertIn(check_id, output)
