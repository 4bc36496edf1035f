import json
import os
import socket
import subprocess
import sys
from pathlib import Path

from hellodjango.environment import load_environment, mongo_client_settings

# app/, where manage.py lives.
APP_DIR = Path(__file__).resolve().parents[3]


def valid_environment(**overrides):
    """A complete, valid environment mapping; keyword arguments replace keys."""
    data = {
        "DJANGO_SECRET_KEY": "k" * 20 + "-test-secret-key-for-unit-tests-only-0123456789",
        "DJANGO_DEBUG": False,
        "DJANGO_ALLOWED_HOSTS": ["www.example.com"],
        "DJANGO_CSRF_TRUSTED_ORIGINS": ["https://www.example.com"],
        "DJANGO_DB_CONNECTOR": "django_mongodb_backend",
        "MONGODB_URL": "mongodb://app:pw@db1:27017/hellodjango?authSource=admin",
        "MONGODB_NAME": "hellodjango",
        "DOTCLOUD_DB_MONGODB_URL": "mongodb://app:pw@db1:27017/hellodjango?authSource=admin",
        "DJANGO_MEDIA_ROOT": "/srv/hellodjango/shared/media",
        "DJANGO_MEDIA_URL": "/media/",
        "DJANGO_STATIC_ROOT": "/srv/hellodjango/current/static",
        "DJANGO_STATIC_URL": "/static/",
        "DJANGO_HTTPS": True,
        "DJANGO_HSTS_SECONDS": 31536000,
        "DJANGO_HSTS_INCLUDE_SUBDOMAINS": True,
        "DJANGO_HSTS_PRELOAD": True,
        "DJANGO_LOG_LEVEL": "INFO",
    }
    data.update(overrides)
    return data


def write_json(directory, data, name="environment.json"):
    path = Path(directory) / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def closed_port():
    """A local TCP port that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def client_settings_for(url):
    """settings.MONGODB_CLIENT as settings.py derives it from ``url``."""
    return mongo_client_settings(url)


def current_environment():
    """The environment file this test run was started with."""
    return load_environment(os.environ["DJANGO_ENV_FILE"])


def _subprocess_environ(env_file, extra_env):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DJANGO_ENV_FILE", "DJANGO_SETTINGS_MODULE")
    }
    if env_file is not None:
        env["DJANGO_ENV_FILE"] = env_file
    env.update(extra_env or {})
    return env


def run_manage(*args, env_file=None, extra_env=None, timeout=120):
    """Run manage.py in a fresh interpreter (settings are read at import)."""
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=APP_DIR,
        env=_subprocess_environ(env_file, extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def run_django(script, env_file, timeout=120):
    """Run ``script`` after django.setup() in a fresh interpreter."""
    env = _subprocess_environ(env_file, {"DJANGO_SETTINGS_MODULE": "hellodjango.settings"})
    return subprocess.run(
        [sys.executable, "-c", f"import django\ndjango.setup()\n{script}"],
        cwd=APP_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
