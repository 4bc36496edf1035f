"""The bad-input suite: invalid configurations stop site.yml before any host is touched.

Each case runs the real `ansible-playbook site.yml` against tests/badinput/inventory (hosts at
documentation addresses that nothing answers) with one thing broken through extra variables,
and must fail in the first play, on the controller, with a message naming the variable. The
recap must show no change and no unreachable host: nothing was contacted. The valid baseline
must get past validation and only then fail to reach db1, which shows the cases fail for their
own reason. Run with `pytest -v -s` to see each case's message (the Makefile does).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "tests" / "badinput" / "inventory"
# The ansible-playbook of the virtualenv running the tests, else the one on PATH.
_VENV_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
ANSIBLE_PLAYBOOK = str(_VENV_PLAYBOOK) if _VENV_PLAYBOOK.exists() else "ansible-playbook"

CASES = {
    # name: (extra vars or an inventory path, text the failure message must contain)
    "port-out-of-range": ({"mongodb_net_port": 70000}, "mongodb_net_port must be between 1 and 65535"),
    "port-wrong-type": ({"mongodb_net_port": "twenty"}, "mongodb_net_port"),
    "malformed-mongodb-version": ({"mongodb_version": "8.0"}, "mongodb_version must be empty or an exact release"),
    "version-outside-series": ({"mongodb_version": "7.0.14"}, "mongodb_version must be empty or an exact release"),
    "unsupported-series": ({"mongodb_series": "6.0"}, "mongodb_series"),
    "production-without-vault": (ROOT / "inventory" / "production", "vault.yml"),
    "debug-in-production-like": ({"app_debug": True}, "app_debug must be false in staging"),
    "demo-superuser-password": ({"app_django_superuser_password": "password"}, "not the demo values"),
    "demo-secret-key": (
        {"app_django_secret_key": "demo-insecure-secret-key-for-the-local-container-only-0123456789"},
        "not the demo values",
    ),
    "short-secret-key": ({"app_django_secret_key": "too-short"}, "django_app_secret_key must be at least 50"),
    "empty-allowed-hosts": ({"app_hostnames": []}, "app_hostnames must name the site in staging"),
    "no-https-in-production-like": ({"app_https": False}, "must be served over HTTPS"),
    "mongodb-open-without-auth": (
        {"mongodb_security_authorization": False, "mongodb_net_bind_ip": ["0.0.0.0"]},
        "mongodb_security_authorization is false while mongod would listen beyond localhost",
    ),
    "app-name-breaks-paths": ({"app_name": "../hello django"}, "django_app_name must be a lowercase Unix"),
    "unknown-connector": ({"app_db_connector": "mysql"}, "django_app_db_connector"),
    "single-uwsgi-worker": ({"uwsgi_processes": 1}, "uwsgi_processes must be at least 2"),
    "invalid-host-name": ({"app_hostnames": ["bad host"]}, "nginx_server_names must list at least one host name"),
    "tls-without-certificate": ({"app_tls_certificate_src": ""}, "nginx_tls_enabled is true"),
    "missing-certificate-file": (
        {"app_tls_certificate_src": "/nonexistent/site.crt"},
        'nginx_tls_certificate_src ("/nonexistent/site.crt") must be a PEM certificate chain',
    ),
    "key-is-not-a-key": (
        {"app_tls_certificate_key_src": str(ROOT / "tests" / "badinput" / "tls" / "site.crt")},
        "nginx_tls_certificate_key_src",
    ),
    "source-dir-without-project": ({"app_source_dir": "/nonexistent/app"}, "django_app_source_dir must be an absolute directory"),
    "unpinned-requirements": (
        {"app_source_dir": str(ROOT / "tests" / "badinput" / "unpinned-app")},
        'Offending lines: ["Django>=5.2,<5.3", "--index-url https://example.org/simple"]',
    ),
    "short-mongodb-admin-password": ({"app_mongodb_admin_password": "short"}, "mongodb_admin_password must be at least 12"),
    "csrf-origin-without-scheme": (
        {"django_app_csrf_trusted_origins": ["example.org"]},
        "django_app_csrf_trusted_origins entries need a scheme",
    ),
    "replica-set-without-key": ({"mongodb_replication_replset_name": "rs0"}, "mongodb_security_keyfile_content"),
    "port-out-of-range-as-key-value": ("mongodb_net_port=70000", "mongodb_net_port must be between 1 and 65535"),
    "deadline-shorter-than-interval": (
        {"mongodb_ready_timeout": 5, "mongodb_ready_interval": 10},
        "mongodb_ready_timeout at least as long",
    ),
}


def run_site(target) -> subprocess.CompletedProcess:
    if isinstance(target, Path):
        extra = []
        inventory = target
    elif isinstance(target, str):
        # key=value extra variables, as people type them: every value arrives as a string.
        extra = ["--extra-vars", target]
        inventory = INVENTORY
    else:
        extra = ["--extra-vars", json.dumps(target)]
        inventory = INVENTORY
    env = dict(os.environ, ANSIBLE_TIMEOUT="3", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(inventory), "site.yml", *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def recap(output: str) -> dict[str, dict[str, int]]:
    hosts = {}
    for host, counters in re.findall(r"^(\S+)\s+:\s+(ok=.*)$", output, re.MULTILINE):
        hosts[host] = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", counters)}
    return hosts


def failure_message(output: str) -> str:
    messages = re.findall(r'^fatal: \[[^]]+\]: FAILED! => (.*)$', output, re.MULTILINE)
    assert messages, output[-3000:]
    result = messages[0]
    try:
        return json.loads(result).get("msg", result)
    except ValueError:
        return result


def test_valid_baseline_passes_validation():
    result = run_site({})
    assert result.returncode != 0, "the baseline cannot succeed: its hosts do not exist"
    assert "PLAY [Install, start and secure MongoDB]" in result.stdout, result.stdout[-3000:]
    assert "UNREACHABLE" in result.stdout, result.stdout[-3000:]
    print(f"\n    baseline: validation passed, then db1 was unreachable as expected")


def test_numbers_given_as_key_value_pass_validation():
    """`-e name=value` makes every value a string; valid numbers must still pass validation."""
    result = run_site("mongodb_ready_timeout=120 mongodb_ready_interval=5 mongodb_net_port=27018 "
                      "django_app_releases_keep=3 uwsgi_processes=3 app_hsts_seconds=600")
    assert "PLAY [Install, start and secure MongoDB]" in result.stdout, result.stdout[-3000:]
    assert "UNREACHABLE" in result.stdout, result.stdout[-3000:]
    print("\n    key=value numbers: validation passed, then db1 was unreachable as expected")


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_before_any_host_is_touched(case):
    target, expected = CASES[case]
    result = run_site(target)
    output = result.stdout
    assert result.returncode != 0, output[-3000:]
    assert "UNREACHABLE" not in output, output[-3000:]
    assert "PLAY [Install, start and secure MongoDB]" not in output, output[-3000:]
    message = " ".join(failure_message(output).split())
    assert expected in message, message
    for host, counters in recap(output).items():
        assert counters["changed"] == 0 and counters["unreachable"] == 0, (host, counters)
    print(f"\n    {case}: {message[:400]}")
