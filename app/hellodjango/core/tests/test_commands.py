import os
from io import StringIO
from unittest import mock

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import SimpleTestCase, TestCase, override_settings

from hellodjango.core.management.commands import wait_for_db

from .helpers import client_settings_for, closed_port

User = get_user_model()


def run_command(name, *args, **env):
    stdout, stderr = StringIO(), StringIO()
    with mock.patch.dict(os.environ, env):
        call_command(name, *args, stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


class WaitForDbTests(SimpleTestCase):
    def test_ready(self):
        stdout, stderr = run_command("wait_for_db", "--timeout", "10", "--interval", "1")
        name = settings.DATABASES["default"]["NAME"]
        self.assertRegex(stdout, rf"^MongoDB at \S+/{name} is ready \(attempt 1\)\.\n$")
        self.assertEqual(stderr, "")

    def test_gives_up_at_deadline(self):
        password = "S3cret-not-shown"
        port = closed_port()
        # The connection string's own timeout wins over the 3 s default.
        url = (
            f"mongodb://app:{password}@127.0.0.1:{port}/hellodjango"
            "?authSource=admin&serverSelectionTimeoutMS=100"
        )
        stdout, stderr = StringIO(), StringIO()
        with override_settings(MONGODB_CLIENT=client_settings_for(url)):
            with self.assertRaises(CommandError) as ctx:
                call_command(
                    "wait_for_db",
                    "--timeout",
                    "1",
                    "--interval",
                    "0.2",
                    stdout=stdout,
                    stderr=stderr,
                )
        message = str(ctx.exception)
        self.assertRegex(
            message,
            rf"^MongoDB at 127\.0\.0\.1:{port}/\S+ was not ready within 1 seconds "
            r"\(\d+ attempts\)\.$",
        )
        attempts = stderr.getvalue().splitlines()
        self.assertGreaterEqual(len(attempts), 2)
        for number, line in enumerate(attempts, start=1):
            self.assertTrue(
                line.startswith(f"Attempt {number}: MongoDB at 127.0.0.1:{port}/"), line
            )
            self.assertIn("ServerSelectionTimeoutError", line)
            self.assertNotIn("Topology Description", line)
        self.assertEqual(stdout.getvalue(), "")
        self.assertNotIn(password, message + stderr.getvalue())

    def test_wrong_password_is_not_ready(self):
        wrong = {**settings.MONGODB_CLIENT, "password": "not-the-password"}
        stderr = StringIO()
        with override_settings(MONGODB_CLIENT=wrong):
            with self.assertRaisesMessage(
                CommandError, "was not ready within 0 seconds (1 attempt)."
            ):
                call_command("wait_for_db", "--timeout", "0", stdout=StringIO(), stderr=stderr)
        self.assertIn("Attempt 1:", stderr.getvalue())
        self.assertIn("Authentication failed", stderr.getvalue())
        self.assertNotIn("not-the-password", stderr.getvalue())

    def test_invalid_arguments(self):
        with self.assertRaisesMessage(CommandError, "--interval must be positive."):
            call_command("wait_for_db", "--interval", "0")
        with self.assertRaisesMessage(CommandError, "--timeout must not be negative."):
            call_command("wait_for_db", "--timeout", "-1")

    def test_defaults(self):
        parser = wait_for_db.Command().create_parser("manage.py", "wait_for_db")
        options = parser.parse_args([])
        self.assertEqual((options.timeout, options.interval), (600, 10))


class EnsureSuperuserTests(TestCase):
    def ensure(self, username="admin", email="admin@example.com", password="first-Passw0rd"):
        return run_command(
            "ensure_superuser",
            "--username",
            username,
            "--email",
            email,
            DJANGO_SUPERUSER_PASSWORD=password,
        )

    def test_creates_once(self):
        stdout, _ = self.ensure()
        self.assertEqual(stdout, "Created superuser 'admin'.\n")
        user = User.objects.get(username="admin")
        self.assertTrue(user.is_superuser)
        self.assertTrue(user.is_staff)
        self.assertTrue(user.is_active)
        self.assertEqual(user.email, "admin@example.com")
        self.assertTrue(user.check_password("first-Passw0rd"))

        stdout, _ = self.ensure(email="other@example.com", password="second-Passw0rd")
        self.assertEqual(stdout, "Superuser 'admin' already exists; nothing changed.\n")
        self.assertEqual(User.objects.filter(username="admin").count(), 1)
        user.refresh_from_db()
        self.assertEqual(user.email, "admin@example.com")
        self.assertTrue(user.check_password("first-Passw0rd"))

    def test_keeps_password_changed_by_admin(self):
        self.ensure()
        user = User.objects.get(username="admin")
        user.set_password("changed-by-admin")
        user.save()
        stdout, _ = self.ensure()
        self.assertTrue(stdout.startswith("Superuser 'admin' already exists"))
        user.refresh_from_db()
        self.assertTrue(user.check_password("changed-by-admin"))
        self.assertFalse(user.check_password("first-Passw0rd"))

    def test_password_required(self):
        for password in (None, "", "   "):
            with self.subTest(password=password):
                with mock.patch.dict(os.environ):
                    os.environ.pop("DJANGO_SUPERUSER_PASSWORD", None)
                    if password is not None:
                        os.environ["DJANGO_SUPERUSER_PASSWORD"] = password
                    with self.assertRaisesMessage(CommandError, "DJANGO_SUPERUSER_PASSWORD"):
                        call_command(
                            "ensure_superuser",
                            "--username",
                            "admin",
                            "--email",
                            "a@example.com",
                            stdout=StringIO(),
                        )
        self.assertFalse(User.objects.filter(username="admin").exists())

    def test_refuses_existing_regular_user(self):
        User.objects.create_user("alice", "alice@example.com", "alice-Passw0rd")
        with self.assertRaisesMessage(
            CommandError, "User 'alice' exists but is not a superuser; refusing to change it."
        ):
            self.ensure(username="alice")
        alice = User.objects.get(username="alice")
        self.assertFalse(alice.is_superuser)
        self.assertTrue(alice.check_password("alice-Passw0rd"))

    def test_invalid_input(self):
        with self.assertRaisesMessage(CommandError, "Enter a valid username."):
            self.ensure(username="no spaces allowed")
        with self.assertRaisesMessage(CommandError, "Enter a valid email address."):
            self.ensure(email="not-an-email")
        self.assertEqual(User.objects.count(), 0)

    def test_username_and_email_required(self):
        with self.assertRaisesMessage(
            CommandError, "the following arguments are required: --email"
        ):
            call_command("ensure_superuser", "--username", "admin")
