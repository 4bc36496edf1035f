"""The hellodjango test run (test_hellodjango.py): one MongoDB stand-in per session, and hooks.

pytest runs in the project's virtualenv; Django's test runner runs in each connector's
application virtualenv (no pytest there) as a subprocess. The stand-in (tests/standin: a test
double backed by mongomock, *not* MongoDB) is started by the Standin class of its own test
suite, with authorization on, on a free port of 127.0.0.1, in a temporary directory.
"""

import importlib.util
import secrets
import signal
from pathlib import Path

import pytest

# tests/standin/tests/conftest.py under a name of its own (its tests import it as "conftest").
_spec = importlib.util.spec_from_file_location(
    "standin_tests_conftest", Path(__file__).resolve().parents[2] / "tests/standin/tests/conftest.py")
standin_tests = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(standin_tests)

SUMMARY = pytest.StashKey[dict]()


def pytest_addoption(parser):
    parser.addoption("--django-label", action="append", default=[], metavar="LABEL",
                     help="a label for 'manage.py test', e.g. hellodjango.core.tests.test_views "
                          "(repeatable; default: the whole suite)")


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    config.stash[SUMMARY] = {}
    # SIGTERM ends the run as Ctrl-C does: Django's test runner (in a process group of its own)
    # and the stand-in are stopped, not left running.
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _interrupted)


def pytest_terminal_summary(terminalreporter, config):
    if config.stash[SUMMARY]:
        terminalreporter.section("hellodjango")
        for line in config.stash[SUMMARY].values():
            terminalreporter.write_line(line)


@pytest.fixture
def summary(request):
    """connector -> its line "hellodjango (connector, Django x): N passed, N failed"."""
    return request.config.stash[SUMMARY]


@pytest.fixture(scope="session")
def app_standin(tmp_path_factory):
    """The stand-in with an administrator (made through the localhost exception) and the
    application's user, entitled to hellodjango and to test_hellodjango (the database Django's
    test runner creates). Random passwords: .app_password, and both in .passwords."""
    standin = standin_tests.Standin(tmp_path_factory.mktemp("standin"),
                                    config={"security": {"authorization": "enabled"}})
    standin.start()
    try:
        admin_password = secrets.token_urlsafe(18)
        standin.app_password = secrets.token_urlsafe(18)
        standin.passwords = {"the administrator's password": admin_password,
                             "the application's password": standin.app_password}
        with standin.client() as client:
            client.admin.command("createUser", "admin", pwd=admin_password, roles=["root"])
        roles = [{"role": role, "db": db}
                 for db in ("hellodjango", "test_hellodjango") for role in ("readWrite", "dbAdmin")]
        with standin.client("admin", admin_password) as client:
            client.admin.command("createUser", "hellodjango", pwd=standin.app_password, roles=roles)
        yield standin
    finally:
        try:
            standin.stop()
        finally:
            standin.kill()
