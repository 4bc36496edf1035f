"""Fixtures: stand-in mongod processes on free ports in temporary directories.

Each stand-in runs as a subprocess, `python -m mongod_standin --config <file>`, with
PYTHONPATH pointing at tests/standin.  STANDIN_SERVER_PYTHON / STANDIN_SERVER_PYTHONPATH
run the server with another interpreter (e.g. /usr/bin/python3 and the vendored
library tree of the .deb); by default the test interpreter runs it.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

STANDIN_DIR = Path(__file__).resolve().parents[1]
TESTS_DIR = Path(__file__).resolve().parent

ADMIN_USER = "siteRootAdmin"
ADMIN_PASSWORD = "r00t-Passw0rd!"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def require_python(variable, how):
    """The python of a purpose-built venv, or a FAILED test saying how to make it."""
    path = os.environ.get(variable)
    if not path:
        pytest.fail("%s is not set. Create the venv and point the variable at its python:\n%s"
                    % (variable, how), pytrace=False)
    if not os.access(path, os.X_OK):
        pytest.fail("%s=%s is not an executable python.\n%s" % (variable, path, how),
                    pytrace=False)
    return path


class Standin:
    """One stand-in mongod process."""

    def __init__(self, workdir, config=None, env=None, args=None, version=None):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.dbpath = self.workdir / "db"
        self.dbpath.mkdir(exist_ok=True)
        self.logpath = self.workdir / "mongod.log"
        self.config_path = self.workdir / "mongod.conf"
        base = {
            "storage": {"dbPath": str(self.dbpath)},
            "systemLog": {"destination": "file", "path": str(self.logpath), "logAppend": True},
            "net": {"port": self.port, "bindIp": "127.0.0.1"},
        }
        if config:
            for section, values in config.items():
                if isinstance(values, dict):
                    base.setdefault(section, {}).update(values)
                else:
                    base[section] = values
        self.config = base
        self.extra_env = dict(env or {})
        if version:
            self.extra_env["MONGOD_STANDIN_VERSION"] = version
        self.args = list(args or [])
        self.proc = None

    def write_config(self, text=None):
        self.config_path.write_text(text if text is not None else yaml.safe_dump(self.config))

    def command(self):
        python = os.environ.get("STANDIN_SERVER_PYTHON", sys.executable)
        return [python, "-m", "mongod_standin", "--config", str(self.config_path)] + self.args

    def environment(self):
        env = dict(os.environ)
        paths = [str(STANDIN_DIR)]
        if os.environ.get("STANDIN_SERVER_PYTHONPATH"):
            paths.append(os.environ["STANDIN_SERVER_PYTHONPATH"])
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env.pop("MONGOD_STANDIN_READY_DELAY", None)
        env.update(self.extra_env)
        return env

    def start(self, wait=True, config_text=None):
        if config_text is not None or not self.config_path.exists():
            self.write_config(config_text)
        self.stdout = open(self.workdir / "stdout.txt", "ab")
        self.proc = subprocess.Popen(self.command(), env=self.environment(),
                                     stdout=self.stdout, stderr=subprocess.STDOUT)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("stand-in exited with %s:\n%s\n%s" % (
                    self.proc.returncode, self.read_stdout(), self.read_log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("stand-in did not listen within %ss:\n%s" % (timeout, self.read_log()))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        finally:
            self.stdout.close()

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        if self.proc is not None and not self.stdout.closed:
            self.stdout.close()

    def restart(self):
        code = self.stop()
        self.start()
        return code

    def read_log(self):
        return self.logpath.read_text() if self.logpath.exists() else ""

    def read_stdout(self):
        path = self.workdir / "stdout.txt"
        return path.read_text() if path.exists() else ""

    def uri(self, user=None, password=None, auth_source="admin", mechanism=None):
        if user is None:
            return "mongodb://127.0.0.1:%d/?directConnection=true" % self.port
        from urllib.parse import quote_plus
        uri = "mongodb://%s:%s@127.0.0.1:%d/?authSource=%s&directConnection=true" % (
            quote_plus(user), quote_plus(password), self.port, auth_source)
        if mechanism:
            uri += "&authMechanism=" + mechanism
        return uri

    def client(self, user=None, password=None, auth_source="admin", **kwargs):
        import pymongo
        kwargs.setdefault("serverSelectionTimeoutMS", 10000)
        return pymongo.MongoClient(self.uri(user, password, auth_source), **kwargs)


@pytest.fixture
def standin_factory(tmp_path):
    started = []

    def make(name="s", config=None, env=None, args=None, version=None, start=True):
        standin = Standin(tmp_path / ("%s%d" % (name, len(started))), config, env, args, version)
        started.append(standin)
        if start:
            standin.start()
        return standin

    yield make
    for standin in started:
        standin.kill()


@pytest.fixture
def standin(standin_factory):
    """A stand-in without authorization."""
    return standin_factory()


@pytest.fixture
def auth_standin(standin_factory):
    """A stand-in with security.authorization: enabled and a root user made through
    the localhost exception."""
    standin = standin_factory(config={"security": {"authorization": "enabled"}})
    with standin.client() as client:
        client.admin.command("createUser", ADMIN_USER, pwd=ADMIN_PASSWORD,
                             roles=[{"role": "root", "db": "admin"}])
    standin.admin = (ADMIN_USER, ADMIN_PASSWORD)
    return standin
