"""The reference app's Django tests (app/hellodjango/core/tests), once per connector.

In app/, with the python of the connector's application virtualenv (app/requirements/*.txt, as
the django_app role builds it on a host), against the session's stand-in, with a fresh
environment file: `manage.py collectstatic` (templates need the manifest of hashed static
names, as on a host), then `manage.py test`. A failing Django test fails the connector's test
with Django's output and the stand-in's warnings; so does a password or the secret key showing
in that output. One connector: `-k djongo`; some Django tests only: `--django-label LABEL`.
"""

import json
import os
import re
import secrets
import signal
import subprocess
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parents[1]
# connector: (variable naming its python, virtualenv of `make app-venvs`, requirements file)
CONNECTORS = {
    "django_mongodb_backend": ("HELLODJANGO_PYTHON_MONGODB_BACKEND", "venv-mongodb-backend",
                               "mongodb-backend.txt"),
    "djongo": ("HELLODJANGO_PYTHON_DJONGO", "venv-djongo", "djongo.txt"),
}


def run(argv, env, timeout):
    """(exit code, stdout and stderr) of argv run in app/; at the timeout (code None) or when
    pytest is interrupted, it is killed with its children (a process group of its own)."""
    proc = subprocess.Popen(argv, cwd=APP_DIR, env=env, stdout=subprocess.PIPE, text=True,
                            stderr=subprocess.STDOUT, errors="replace", start_new_session=True)
    try:
        output = proc.communicate(timeout=timeout)[0]
        return proc.returncode, output
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return None, proc.communicate()[0] + f"\n[killed: still running after {timeout} s]"
    except BaseException:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def write_environment(path, standin, connector, work_dir):
    """The environment file (mode 0600: the password, the secret key); returns the key."""
    url = f"mongodb://hellodjango:{standin.app_password}@127.0.0.1:{standin.port}/hellodjango?authSource=admin"
    environment = {
        "DJANGO_SECRET_KEY": "test-only-" + secrets.token_hex(32),
        "DJANGO_DEBUG": False,
        "DJANGO_ALLOWED_HOSTS": ["localhost", "127.0.0.1"],
        "DJANGO_CSRF_TRUSTED_ORIGINS": [],
        "DJANGO_DB_CONNECTOR": connector,
        "MONGODB_URL": url,
        "MONGODB_NAME": "hellodjango",
        "DOTCLOUD_DB_MONGODB_URL": url,
        "DJANGO_MEDIA_ROOT": f"{work_dir}/media",
        "DJANGO_MEDIA_URL": "/media/",
        "DJANGO_STATIC_ROOT": f"{work_dir}/static",
        "DJANGO_STATIC_URL": "/static/",
        "DJANGO_HTTPS": False,
        "DJANGO_HSTS_SECONDS": 0,
        "DJANGO_HSTS_INCLUDE_SUBDOMAINS": False,
        "DJANGO_HSTS_PRELOAD": False,
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as fh:
        json.dump(environment, fh, indent=2)
    return environment["DJANGO_SECRET_KEY"]


def counts(output):
    """"N passed, N failed[, N skipped]" from unittest's closing lines, or None."""
    ran = re.findall(r"^Ran (\d+) tests? in ", output, re.MULTILINE)
    result = re.findall(r"^(?:OK|FAILED)(?: \((.*)\))?$", output, re.MULTILINE)
    if not (ran and result):
        return None
    found = {key: int(value) for key, _, value in
             (item.partition("=") for item in filter(None, result[-1].split(", ")))}
    failed = sum(found.get(key, 0) for key in ("failures", "errors", "unexpected successes"))
    skipped = found.get("skipped", 0)
    passed = int(ran[-1]) - failed - skipped - found.get("expected failures", 0)
    return f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")


@pytest.mark.parametrize("connector", list(CONNECTORS))
def test_django_suite(connector, app_standin, summary, tmp_path, request):
    variable, venv, requirements = CONNECTORS[connector]
    python = os.environ.get(variable, str(APP_DIR.parent / ".cache" / venv / "bin" / "python"))
    code, version = run([python, "-c", f"import {connector}, django; print(django.get_version())"],
                        dict(os.environ), 60) if os.access(python, os.X_OK) else (None, "")
    if code != 0:
        pytest.fail(f"{variable}={python}: not the python of a virtualenv with {connector}.\n"
                    f"{version}Run `make app-venvs`, or: python3 -m venv /tmp/{venv} && "
                    f"/tmp/{venv}/bin/pip install -r app/requirements/{requirements} && "
                    f"export {variable}=/tmp/{venv}/bin/python", pytrace=False)
    env_file = tmp_path / "environment.json"
    hidden = dict(app_standin.passwords)
    hidden["the secret key"] = write_environment(env_file, app_standin, connector, tmp_path)
    env = {key: value for key, value in os.environ.items() if key != "DJANGO_SETTINGS_MODULE"}
    env["DJANGO_ENV_FILE"] = str(env_file)

    def redacted(text):
        for name, value in hidden.items():
            text = text.replace(value, f"<{name}>")
        return text

    try:
        code, output = run([python, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"],
                           env, 300)
        if code != 0:
            pytest.fail(f"manage.py collectstatic failed, exit {code}:\n{redacted(output)}", pytrace=False)
        labels = request.config.getoption("--django-label")
        code, output = run([python, "manage.py", "test", "--noinput", *labels], env, 900)
    finally:
        env_file.unlink()

    leaked = [name for name, value in hidden.items() if value in output]
    output = redacted(output)
    line = f"hellodjango ({connector}, Django {version.strip()}): {counts(output) or 'no test summary'}"
    summary[connector] = line
    if code != 0:
        standin_log = [entry for entry in redacted(app_standin.read_log()).splitlines()
                       if re.search(r'"s":"[WEF]', entry) or not entry.startswith('{"t":')]
        pytest.fail(f"manage.py test failed, exit {code}: {line}\n{output}\n"
                    "--- the stand-in's warnings and errors (last 20 of this session) ---\n"
                    + ("\n".join(standin_log[-20:]) or "(none)"), pytrace=False)
    if not re.search(r"^Ran [1-9]\d* tests? in ", output, re.MULTILINE):
        pytest.fail(f"manage.py test ran no tests: {line}\n{output}", pytrace=False)
    if leaked:
        pytest.fail(f"Django's test output shows {', '.join(leaked)}:\n{output}", pytrace=False)
