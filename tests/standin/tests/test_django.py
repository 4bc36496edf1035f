"""Django smoke tests: a real Django admin session against an auth-enabled stand-in."""

import json
import subprocess

from conftest import TESTS_DIR, require_python

DJANGO_HOW = """  python3 -m venv /tmp/venv-django
  /tmp/venv-django/bin/pip install 'Django>=5.2,<5.3' 'django-mongodb-backend>=5.2,<5.3'
  export STANDIN_DJANGO_PYTHON=/tmp/venv-django/bin/python"""

DJONGO_HOW = """  python3.11 -m venv /tmp/venv-djongo
  /tmp/venv-djongo/bin/pip install djongo==1.3.7 Django==3.1.12 pymongo==3.11.4 sqlparse==0.2.4
  export STANDIN_DJONGO_PYTHON=/tmp/venv-djongo/bin/python"""


def _app_user(standin, db, user, password):
    with standin.client(*standin.admin) as client:
        client[db].command("createUser", user, pwd=password,
                           roles=[{"role": "readWrite", "db": db}])


def _run_smoke(python, project, script, env_extra, timeout=600):
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    env.update(env_extra)
    proc = subprocess.run([python, script], cwd=str(TESTS_DIR / project), env=env,
                          capture_output=True, text=True, timeout=timeout)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    report = json.loads(lines[-1]) if lines else {}
    assert proc.returncode == 0 and "failed" not in report, (
        "smoke run failed (rc=%s)\nreport: %s\nstderr:\n%s" % (
            proc.returncode, report, proc.stderr[-6000:]))
    return report


def test_django_mongodb_backend_admin_smoke(auth_standin):
    python = require_python("STANDIN_DJANGO_PYTHON", DJANGO_HOW)
    _app_user(auth_standin, "djangoapp", "djangoapp", "app-Passw0rd")
    uri = auth_standin.uri("djangoapp", "app-Passw0rd", auth_source="djangoapp")
    report = _run_smoke(python, "django_site", "smoke_django.py",
                        {"STANDIN_MONGODB_URI": uri, "STANDIN_DB_NAME": "djangoapp"})
    for check in ("migrate", "superuser", "login", "admin_index", "user_changelist",
                  "group_add_post", "group_exists", "recent_actions_lists_group"):
        assert report[check] is True
    # The app user could not have touched another database.
    with auth_standin.client(*auth_standin.admin) as client:
        assert "djangoapp" in client.list_database_names()
        assert client.djangoapp.auth_group.count_documents({"name": "editors"}) == 1
        assert client.djangoapp.django_admin_log.count_documents({}) == 1


def test_djongo_admin_smoke(auth_standin):
    python = require_python("STANDIN_DJONGO_PYTHON", DJONGO_HOW)
    _app_user(auth_standin, "djongoapp", "djongoapp", "app-Passw0rd")
    report = _run_smoke(python, "djongo_site", "smoke_djongo.py", {
        "STANDIN_MONGODB_HOST": "127.0.0.1", "STANDIN_MONGODB_PORT": str(auth_standin.port),
        "STANDIN_DB_NAME": "djongoapp", "STANDIN_DB_USER": "djongoapp",
        "STANDIN_DB_PASSWORD": "app-Passw0rd"})
    for check in ("migrate", "superuser", "login", "admin_index", "user_changelist"):
        assert report[check] is True
    with auth_standin.client(*auth_standin.admin) as client:
        assert client.djongoapp.auth_user.count_documents({"username": "admin"}) == 1
