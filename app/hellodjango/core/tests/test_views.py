import time
from unittest import mock

from django.conf import settings
from django.test import SimpleTestCase, override_settings

from .helpers import client_settings_for, closed_port


class NeverCachedAssertions:
    def assertNeverCached(self, response):
        cache_control = response["Cache-Control"]
        for directive in ("no-cache", "no-store", "must-revalidate", "max-age=0"):
            self.assertIn(directive, cache_control)


class IndexViewTests(SimpleTestCase):
    def test_index(self):
        response = self.client.get("/")
        self.assertEqual(response.status_code, 200)
        self.assertTemplateUsed(response, "core/index.html")
        self.assertContains(response, "<h1>Hello, Django!</h1>", html=True)
        # ManifestStaticFilesStorage: the stylesheet's name carries a hash of its content.
        self.assertRegex(response.content.decode(), rf'href="{settings.STATIC_URL}core/site\.[0-9a-f]{{12}}\.css"')
        self.assertContains(response, 'href="/admin/"')

    def test_security_headers(self):
        response = self.client.get("/")
        self.assertEqual(response["X-Frame-Options"], "DENY")
        self.assertEqual(response["X-Content-Type-Options"], "nosniff")
        self.assertEqual(response["Referrer-Policy"], "same-origin")

    @override_settings(RELEASE_ID="20250102T030405Z")
    def test_release_id_shown(self):
        response = self.client.get("/")
        self.assertContains(response, '<code class="release">20250102T030405Z</code>', html=True)

    @override_settings(RELEASE_ID="")
    def test_no_release_id(self):
        response = self.client.get("/")
        self.assertNotContains(response, "release")

    def test_head_allowed_post_refused(self):
        self.assertEqual(self.client.head("/").status_code, 200)
        self.assertEqual(self.client.post("/").status_code, 405)


class HealthzViewTests(NeverCachedAssertions, SimpleTestCase):
    def test_ok(self):
        response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json(), {"status": "ok"})
        self.assertNeverCached(response)

    def test_database_down(self):
        password = "Hunter2-not-in-logs"
        url = f"mongodb://app:{password}@127.0.0.1:{closed_port()}/hellodjango?authSource=admin"
        start = time.monotonic()
        with override_settings(MONGODB_CLIENT=client_settings_for(url)):
            with self.assertLogs("hellodjango.core.views", "WARNING") as logs:
                response = self.client.get("/healthz")
        elapsed = time.monotonic() - start
        self.assertEqual(response.status_code, 503)
        self.assertEqual(
            response.json(), {"status": "unavailable", "error": "ServerSelectionTimeoutError"}
        )
        self.assertNeverCached(response)
        # The client's 3 s server selection timeout bounds the answer.
        self.assertLess(elapsed, 8)
        self.assertEqual(len(logs.output), 1)
        self.assertIn("Health check failed: MongoDB at 127.0.0.1:", logs.output[0])
        self.assertNotIn(password, logs.output[0])

    def test_wrong_credentials(self):
        wrong = {**settings.MONGODB_CLIENT, "password": "wrong-password"}
        with override_settings(MONGODB_CLIENT=wrong):
            with self.assertLogs("hellodjango.core.views", "WARNING") as logs:
                response = self.client.get("/healthz")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response.json()["status"], "unavailable")
        self.assertIn("Authentication failed", logs.output[0])
        self.assertNotIn("wrong-password", logs.output[0])

    def test_post_refused(self):
        self.assertEqual(self.client.post("/healthz").status_code, 405)


class HealthzLiveViewTests(NeverCachedAssertions, SimpleTestCase):
    """
    /healthz/live, the load balancer's rotation check: it must answer while MongoDB is down.
    SimpleTestCase refuses any query through Django's database connections (either connector),
    and the views reach MongoDB outside the ORM only through the mongo module, which these tests
    watch.
    """

    def test_alive(self):
        response = self.client.get("/healthz/live")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response["Content-Type"], "application/json")
        self.assertEqual(response.json(), {"status": "alive"})
        self.assertNeverCached(response)

    def test_no_session_template_or_cookie(self):
        response = self.client.get("/healthz/live")
        self.assertEqual(response.templates, [])
        self.assertFalse(response.wsgi_request.session.accessed)
        self.assertEqual(len(response.cookies), 0)
        self.assertNotIn("Cookie", response.get("Vary", ""))

    def test_head_allowed_post_refused(self):
        response = self.client.head("/healthz/live")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.content, b"")
        for method in ("post", "put", "patch", "delete"):
            with self.subTest(method=method):
                self.assertEqual(getattr(self.client, method)("/healthz/live").status_code, 405)

    def test_does_not_touch_mongodb(self):
        with mock.patch.multiple(
            "hellodjango.core.mongo",
            ping=mock.DEFAULT,
            shared_client=mock.DEFAULT,
            new_client=mock.DEFAULT,
            MongoClient=mock.DEFAULT,
        ) as mocks:
            response = self.client.get("/healthz/live")
        self.assertEqual(response.status_code, 200)
        for name, mocked in mocks.items():
            with self.subTest(name=name):
                mocked.assert_not_called()

    def test_alive_while_database_down(self):
        url = f"mongodb://app:pw@127.0.0.1:{closed_port()}/hellodjango?authSource=admin"
        with override_settings(MONGODB_CLIENT=client_settings_for(url)):
            # /healthz, the readiness check, says MongoDB is down...
            with self.assertLogs("hellodjango.core.views", "WARNING"):
                self.assertEqual(self.client.get("/healthz").status_code, 503)
            # ...while the liveness check answers at once, without the 3 s server selection.
            start = time.monotonic()
            with self.assertNoLogs("hellodjango.core.views", "WARNING"):
                response = self.client.get("/healthz/live")
            elapsed = time.monotonic() - start
        self.assertEqual(response.status_code, 200)
        self.assertEqual(response.json(), {"status": "alive"})
        self.assertLess(elapsed, 1)
