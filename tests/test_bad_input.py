"""The bad-input suite: invalid configurations stop site.yml before any host is touched.

Each case runs the real `ansible-playbook` against tests/badinput/inventory (hosts at 127.0.0.1 on
a closed port: nothing answers, and nothing leaves this machine) with one thing broken through
extra variables, and must fail in validate.yml, on the controller, with a message naming the
variable. The recap must show no change and no unreachable host: nothing was contacted. The cases
run validate.yml itself, the plays site.yml imports first; site.yml stops at a refusal because
every play of validate.yml has any_errors_fatal (test_site_yml_validates_first), and a refusal in
each of validate.yml's plays (SITE_CASES) also runs site.yml whole, to show that its deploy plays
never start. (site.yml's own parsing cost each case about a fifth of its CPU.) The valid baseline
must get past validation in site.yml and only then fail to reach db1, which shows the cases fail
for their own reason. The TLS certificates are made at test time (nothing committed can expire),
and no secret value or private key may appear in the output.
Run with `pytest -v -s` to see each case's message (the Makefile does).
"""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "tests" / "badinput" / "inventory"
# The ansible-playbook of the virtualenv running the tests, else the one on PATH.
_VENV_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
ANSIBLE_PLAYBOOK = str(_VENV_PLAYBOOK) if _VENV_PLAYBOOK.exists() else "ansible-playbook"

SITE = "site.yml"
VALIDATE = "validate.yml"
# The first play of site.yml after validation: a refused run must not reach it.
FIRST_DEPLOY_PLAY = "PLAY [Install, start and secure MongoDB]"

SECRETS = ("app_mongodb_admin_password", "app_mongodb_password", "app_django_secret_key",
           "app_django_superuser_password")


def _yaml(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def _secret_cases() -> dict:
    """Defect 4: every value of an example or demo file is refused, whichever secret holds it.

    The values are read from the files themselves; the staging inventory says which vault_*
    name feeds which app_* secret ("app_x: '{{ vault_y }}'").
    """
    staging = _yaml(ROOT / "inventory" / "staging" / "group_vars" / "all" / "vars.yml")
    feeds = {}
    for name in SECRETS:
        match = re.fullmatch(r"\{\{\s*(vault_\w+)\s*\}\}", str(staging[name]))
        assert match, f"inventory/staging: {name} is not fed by a vault_* variable"
        feeds[match.group(1)] = name
    cases = {}
    examples = sorted((ROOT / "inventory").glob("*/group_vars/all/vault.yml.example"))
    assert examples, "no vault.yml.example found"
    for example in examples:
        for vault_name, value in _yaml(example).items():
            name = feeds[vault_name]
            cases.setdefault(f"example-value-of-{name}", ({name: value}, f"Not a real secret in staging: {name}."))
    demo = _yaml(ROOT / "inventory" / "local" / "group_vars" / "all" / "vars.yml")
    for name in SECRETS:
        cases[f"demo-value-of-{name}"] = ({name: demo[name]}, f"Not a real secret in staging: {name}.")
    assert len(cases) == 2 * len(SECRETS), sorted(cases)
    cases["placeholder-secret"] = ({"app_mongodb_password": "Please-CHANGE_ME-0123456789"},
                                   "Not a real secret in staging: app_mongodb_password.")
    cases["every-secret-from-the-demo"] = (
        {name: demo[name] for name in SECRETS},
        "Not a real secret in staging: " + ", ".join(SECRETS) + ".",
    )
    return cases


CASES = {
    # name: (extra vars or an inventory path, text the failure message must contain)
    "port-out-of-range": ({"mongodb_net_port": 70000}, "mongodb_net_port must be between 1 and 65535"),
    "port-wrong-type": ({"mongodb_net_port": "twenty"}, "mongodb_net_port"),
    "malformed-mongodb-version": ({"mongodb_version": "8.0"}, "mongodb_version must be empty or an exact release"),
    "version-outside-series": ({"mongodb_version": "7.0.14"}, "mongodb_version must be empty or an exact release"),
    "unsupported-series": ({"mongodb_series": "6.0"}, "mongodb_series"),
    "production-without-vault": (ROOT / "inventory" / "production", "vault.yml"),
    # Issue 14: an even number of MongoDB hosts elects no more reliably than one member fewer.
    "two-mongodb-hosts": (
        [ROOT / "tests" / "badinput" / "hosts" / "two-mongodb-hosts.yml"],
        'Group "mongodb" holds 2 hosts',
    ),
    # Issue 14: uploads would stay on the web host that took them.
    "several-web-hosts-without-shared-media": (
        [ROOT / "tests" / "badinput" / "hosts" / "two-web-hosts.yml"],
        "2 web hosts, but the media root is not shared",
    ),
    # Issue 14: HAProxy and nginx on one host would both listen on ports 80 and 443.
    "balancer-on-a-web-host": (
        [ROOT / "tests" / "badinput" / "hosts" / "balancer-on-a-web-host.yml"],
        'web1 in group "lb" and in "web" or "mongodb"',
    ),
    "debug-in-production-like": ({"app_debug": True}, "app_debug must be false in staging"),
    "short-superuser-password": (
        {"app_django_superuser_password": "Qx7-short"},
        "app_django_superuser_password must be at least 12 characters in staging",
    ),
    "short-secret-key": (
        {"app_django_secret_key": "too-short"},
        "app_django_secret_key (django_app_secret_key) must be at least 50",
    ),
    "empty-allowed-hosts": ({"app_hostnames": []}, "app_hostnames must name the site in staging"),
    "no-https-in-production-like": ({"app_https": False}, "must be served over HTTPS"),
    "mongodb-open-without-auth": (
        {"mongodb_security_authorization": False, "mongodb_net_bind_ip": ["0.0.0.0"]},
        "mongodb_security_authorization is false while mongod would listen beyond localhost",
    ),
    "app-name-breaks-paths": ({"app_name": "../hello django"}, "app_name (django_app_name) must be a lowercase Unix"),
    "unknown-connector": ({"app_db_connector": "mysql"}, "django_app_db_connector"),
    "single-uwsgi-worker": ({"uwsgi_processes": 1}, "uwsgi_processes must be at least 2"),
    "uwsgi-threads-wrong-type": ({"uwsgi_threads": "many"}, "uwsgi_threads"),
    "app-runs-as-root": ({"app_name": "root"}, 'app_name "root" (django_app_name) names an account'),
    "uwsgi-socket-in-runtime-directory": (
        {"django_app_uwsgi_socket": "/run/uwsgi-hellodjango/app.sock"},
        "django_app_uwsgi_socket must be a path under /run/ outside the uWSGI service's runtime directory",
    ),
    "invalid-host-name": (
        {"app_hostnames": ["bad host"]},
        "app_hostnames (nginx_server_names) must list at least one host name",
    ),
    "tls-without-certificate": ({"app_tls_certificate_src": ""}, "app_https (nginx_tls_enabled) is true"),
    "missing-certificate-file": (
        {"app_tls_certificate_src": "/nonexistent/site.crt"},
        'app_tls_certificate_src (nginx_tls_certificate_src, "/nonexistent/site.crt") must be a PEM certificate chain',
    ),
    "key-is-not-a-key": (
        {"app_tls_certificate_key_src": "{tls}/site.crt"},
        'app_tls_certificate_key_src (nginx_tls_certificate_key_src, "{tls}/site.crt") a PEM private key',
    ),
    # Defect 5: the pair is checked on the controller, before any host is changed.
    "key-of-another-certificate": (
        {"app_tls_certificate_key_src": "{tls}/other.key"},
        'app_tls_certificate_key_src (nginx_tls_certificate_key_src, "{tls}/other.key") must be the private key '
        'of the certificate in app_tls_certificate_src (nginx_tls_certificate_src, "{tls}/site.crt"): their '
        "public keys differ",
    ),
    "expired-certificate": (
        {"app_tls_certificate_src": "{tls}/expired.crt", "app_tls_certificate_key_src": "{tls}/expired.key"},
        'The certificate in app_tls_certificate_src (nginx_tls_certificate_src, "{tls}/expired.crt") expired on',
    ),
    "key-whose-body-is-no-key": (
        {"app_tls_certificate_key_src": "{tls}/fake.key"},
        'app_tls_certificate_key_src (nginx_tls_certificate_key_src, "{tls}/fake.key"), the key of the certificate '
        'in app_tls_certificate_src (nginx_tls_certificate_src, "{tls}/site.crt"), cannot be read as a private key',
    ),
    "certificate-whose-body-is-no-certificate": (
        {"app_tls_certificate_src": "{tls}/fake.crt"},
        'app_tls_certificate_src (nginx_tls_certificate_src, "{tls}/fake.crt") cannot be read as an X.509 certificate',
    ),
    "source-dir-without-project": (
        {"app_source_dir": "/nonexistent/app"},
        "app_source_dir (django_app_source_dir) must be an absolute directory",
    ),
    "settings-module-not-in-project": (
        {"app_source_dir": str(ROOT / "tests" / "projects" / "mongodb-project"),
         "app_requirements_file": "requirements.txt", "app_project_module": "nosuchpackage"},
        'The project\'s settings module "nosuchpackage.settings" is not in',
    ),
    "requirements-file-missing": (
        {"app_source_dir": str(ROOT / "tests" / "projects" / "mongodb-project")},
        "requirements/mongodb-backend.txt is missing: set app_requirements_file (django_app_requirements_file)",
    ),
    "requirements-without-django-and-connector": (
        {
            "app_source_dir": str(ROOT / "tests" / "badinput" / "no-django-app"),
            "app_requirements_file": "requirements.txt",
        },
        "must pin Django and the connector app_db_connector (django_app_db_connector) names, django-mongodb-backend",
    ),
    "unpinned-requirements": (
        {"app_source_dir": str(ROOT / "tests" / "badinput" / "unpinned-app")},
        'Offending lines: ["Django>=5.2,<5.3", "--index-url https://example.org/simple"]',
    ),
    "short-mongodb-admin-password": (
        {"app_mongodb_admin_password": "short"},
        "app_mongodb_admin_password (mongodb_admin_password) must be at least 12",
    ),
    "csrf-origin-without-scheme": (
        {"django_app_csrf_trusted_origins": ["example.org"]},
        "app_csrf_trusted_origins (django_app_csrf_trusted_origins) entries need a scheme",
    ),
    "replica-set-without-key": (
        {"mongodb_replication_replset_name": "rs0"},
        "app_mongodb_keyfile (mongodb_security_keyfile_content",
    ),
    "port-out-of-range-as-key-value": ("mongodb_net_port=70000", "mongodb_net_port must be between 1 and 65535"),
    "reload-timeout-zero": (
        {"django_app_reload_timeout": 0},
        "django_app_health_timeout and django_app_reload_timeout must be positive numbers of seconds",
    ),
    "deadline-shorter-than-interval": (
        {"mongodb_ready_timeout": 5, "mongodb_ready_interval": 10},
        "mongodb_ready_timeout at least as long",
    ),
    # Issue 21, defect 1: the application's Unix user must not be an account the system, another
    # role or Ansible's connection uses (deploy: the inventory's ansible_user).
    **{
        f"app-name-of-the-{name}-account": ({"app_name": name}, f'app_name "{name}" (django_app_name) names an account')
        for name in ("mongodb", "daemon", "deploy", "haproxy", "nobody")
    },
    # Issue 21, defect 2: serial 0 is "every host at once"; anything else must be a batch size.
    **{
        f"web-serial-{label}": ({"app_web_serial": value} if label != "zero-as-key-value" else value,
                                "app_web_serial must be a positive whole number or a percentage from 1% to 100%")
        for label, value in (("zero", 0), ("zero-as-key-value", "app_web_serial=0"), ("negative", -1),
                             ("zero-percent", "0%"), ("over-100-percent", "150%"), ("not-a-number", "many"),
                             ("fraction", 1.5), ("list", [1, 2]))
    },
    # Issue 21, defect 3: the paths nginx and HAProxy are asked for.
    "health-path-without-slash": (
        {"app_health_path": "healthz"},
        'app_health_path (django_app_health_path) must be a path starting with "/"',
    ),
    "lb-health-path-without-slash": (
        {"app_lb_health_path": "healthz/live"},
        'app_lb_health_path (haproxy_health_check_path) must be a path starting with "/"',
    ),
    # Issue 21, defect 4: every name of the site is one the certificate covers (as browsers match).
    "certificate-for-other-names": (
        {"app_hostnames": ["www.other.example"]},
        'app_hostnames names www.other.example, which the certificate in app_tls_certificate_src '
        '(nginx_tls_certificate_src, "{tls}/site.crt") does not cover: its subject alternative names are '
        "DNS:staging.example.org.",
    ),
    "certificate-for-one-of-the-names": (
        {"app_hostnames": ["staging.example.org", "www.example.org"]},
        "app_hostnames names www.example.org, which the certificate in app_tls_certificate_src",
    ),
    **{
        f"wildcard-certificate-for-{label}": (
            {"app_hostnames": [name], "app_tls_certificate_src": "{tls}/wild.crt",
             "app_tls_certificate_key_src": "{tls}/wild.key"},
            f"app_hostnames names {name}, which the certificate in app_tls_certificate_src "
            '(nginx_tls_certificate_src, "{tls}/wild.crt") does not cover: its subject alternative names are '
            "DNS:*.example.org, DNS:*.web1.test, IP:192.0.2.1.",
        )
        for label, name in (("the-parent-domain", "example.org"), ("two-labels", "a.b.example.org"),
                            ("a-wider-wildcard", "*.test"), ("another-address", "192.0.2.2"))
    },
    **_secret_cases(),
}

# Cases that run site.yml whole as well: a refusal by each play of validate.yml (the inventory's
# policy, the MongoDB tier, the web tier before and after the certificate is read, the balancers).
SITE_CASES = {"production-without-vault", "port-out-of-range", "unpinned-requirements",
              "key-of-another-certificate", "balancer-on-a-web-host"}

# Issue 21, defect 4: names the certificate covers pass (app_hostnames, certificate).
COVERED_NAMES = {
    "exact": (["staging.example.org"], "site"),
    "exact-other-case": (["Staging.Example.ORG"], "site"),
    "one-label-under-a-wildcard": (["a.example.org", "www.example.org"], "wild"),
    "wildcard-name-in-nginx-spelling": (["*.web1.test"], "wild"),
    "address": (["a.example.org", "192.0.2.1"], "wild"),
}


@pytest.fixture(scope="session")
def tls(tmp_path_factory) -> Path:
    """Certificates made now, so that none of them expires in the repository: the baseline's
    valid pair (site), the pair of another certificate (other), an expired pair (expired), a pair
    for wildcard names and an address (wild), and files shaped like a PEM certificate and key
    whose bodies are neither (fake)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)
    site = [x509.DNSName("staging.example.org")]
    wild = [x509.DNSName("*.example.org"), x509.DNSName("*.web1.test"),
            x509.IPAddress(ipaddress.ip_address("192.0.2.1"))]
    for name, not_before, not_after, names in (
        ("site", now - datetime.timedelta(days=1), now + datetime.timedelta(days=30), site),
        ("other", now - datetime.timedelta(days=1), now + datetime.timedelta(days=30), site),
        ("expired", now - datetime.timedelta(days=60), now - datetime.timedelta(days=1), site),
        ("wild", now - datetime.timedelta(days=1), now + datetime.timedelta(days=30), wild),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "staging.example.org")])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(key, hashes.SHA256())
        )
        key_file = directory / f"{name}.key"
        key_file.touch(mode=0o600)
        key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        (directory / f"{name}.crt").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "fake.crt").write_text(
        "-----BEGIN CERTIFICATE-----\nTm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
    (directory / "fake.key").write_text("-----BEGIN PRIVATE KEY-----\nTm90IGEga2V5\n-----END PRIVATE KEY-----\n")
    return directory


def with_tls(value, tls: Path):
    """A case's value with "{tls}" standing for the directory of the generated certificates."""
    if isinstance(value, str):
        return value.replace("{tls}", str(tls))
    if isinstance(value, dict):
        return {key: with_tls(item, tls) for key, item in value.items()}
    return value


def key_bodies(tls: Path) -> list[str]:
    """The base64 lines of every generated private key: none may appear in Ansible's output."""
    return [line for key in tls.glob("*.key") for line in key.read_text().splitlines() if "-----" not in line]


def run_site(target, tls: Path, *options: str, playbook: str = SITE) -> subprocess.CompletedProcess:
    """ansible-playbook of `playbook` (site.yml, or validate.yml alone) with the case's input."""
    inventories = [INVENTORY]
    if isinstance(target, Path):
        extra = []
        inventories = [target]
    elif isinstance(target, list):
        # Host files added to the bad-input inventory (tests/badinput/hosts), valid variables.
        extra = ["--extra-vars", json.dumps(with_tls({}, tls))]
        inventories = [INVENTORY, *target]
    elif isinstance(target, str):
        # key=value extra variables, as people type them: every value arrives as a string.
        extra = ["--extra-vars", target]
    else:
        extra = ["--extra-vars", json.dumps(with_tls(target, tls))]
    # The bad-input inventory reads its certificate directory from BADINPUT_TLS_DIR.
    env = dict(os.environ, ANSIBLE_TIMEOUT="3", ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               BADINPUT_TLS_DIR=str(tls))
    return subprocess.run(
        [ANSIBLE_PLAYBOOK, *(arg for path in inventories for arg in ("-i", str(path))), playbook, *extra, *options],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def assert_nothing_secret(result: subprocess.CompletedProcess, target, tls: Path) -> None:
    output = result.stdout + result.stderr
    inventory = _yaml(INVENTORY / "group_vars" / "all" / "vars.yml")
    secrets = [str(inventory[name]) for name in SECRETS]
    if isinstance(target, dict):
        secrets += [str(value) for name, value in target.items() if name in SECRETS]
    # A value as short as the demo's "password" is an ordinary word of the output; the real ones
    # are at least 12 characters (site.yml refuses shorter ones).
    for secret in [value for value in secrets if len(value) >= 12] + key_bodies(tls):
        assert secret not in output, "a secret value or a private key line is in the output"


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


def assert_validation_passed(result: subprocess.CompletedProcess) -> None:
    """validate.yml alone succeeded, on the controller: no host was contacted."""
    assert result.returncode == 0, result.stdout[-3000:]
    assert "UNREACHABLE" not in result.stdout, result.stdout[-3000:]


def test_site_yml_validates_first():
    """site.yml imports validate.yml first, whatever the tags, and each play of validate.yml ends the
    whole run at its first refusal: what the cases that run validate.yml alone rely on."""
    site = _yaml(ROOT / "site.yml")
    assert site[0].get("ansible.builtin.import_playbook") == VALIDATE, site[0]
    assert "always" in site[0].get("tags", []), site[0]
    for play in _yaml(ROOT / VALIDATE):
        assert play.get("any_errors_fatal") is True, play["name"]
    assert SITE_CASES <= set(CASES), SITE_CASES - set(CASES)


def test_valid_baseline_passes_validation(tls):
    result = run_site({}, tls)
    assert result.returncode != 0, "the baseline cannot succeed: its hosts do not exist"
    assert FIRST_DEPLOY_PLAY in result.stdout, result.stdout[-3000:]
    assert "UNREACHABLE" in result.stdout, result.stdout[-3000:]
    # db1 is 127.0.0.1 on a closed port: the connection is refused, on this machine.
    assert re.search(r"UNREACHABLE!.*127\.0\.0\.1 port 1\b", result.stdout), result.stdout[-3000:]
    assert_nothing_secret(result, {}, tls)
    print("\n    baseline: validation passed, then db1 (127.0.0.1, port 1) was unreachable as expected")


def test_numbers_given_as_key_value_pass_validation(tls):
    """`-e name=value` makes every value a string; valid numbers must still pass validation."""
    result = run_site("mongodb_ready_timeout=120 mongodb_ready_interval=5 mongodb_net_port=27018 "
                      "django_app_releases_keep=3 uwsgi_processes=3 app_hsts_seconds=600", tls, playbook=VALIDATE)
    assert_validation_passed(result)
    print("\n    key=value numbers: validation passed")


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_refused_before_any_host_is_touched(case, tls):
    target, expected = CASES[case]
    result = run_site(target, tls, playbook=SITE if case in SITE_CASES else VALIDATE)
    output = result.stdout
    assert result.returncode != 0, output[-3000:]
    assert "UNREACHABLE" not in output, output[-3000:]
    assert FIRST_DEPLOY_PLAY not in output, output[-3000:]
    message = " ".join(failure_message(output).split())
    assert with_tls(expected, tls) in message, message
    for host, counters in recap(output).items():
        assert counters["changed"] == 0 and counters["unreachable"] == 0, (host, counters)
    assert_nothing_secret(result, target, tls)
    print(f"\n    {case}: {message[:400]}")


def test_example_file_of_the_inventory_in_use_is_refused(tls, tmp_path):
    """A vault.yml.example next to the inventory in use is read too, whatever its values look like."""
    inventory = tmp_path / "inventory"
    shutil.copytree(INVENTORY, inventory)
    value = "Example-only-Wq3Rt6Yu9Io2"
    (inventory / "group_vars" / "all" / "vault.yml.example").write_text(
        f"---\n# Copy to vault.yml and replace every value.\nvault_mongodb_app_password: {value}\n")
    target = {"app_mongodb_password": value}
    result = subprocess.run(
        [ANSIBLE_PLAYBOOK, "-i", str(inventory), "site.yml", "--extra-vars", json.dumps(target)],
        cwd=ROOT, env=dict(os.environ, ANSIBLE_NOCOLOR="1", BADINPUT_TLS_DIR=str(tls)),
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode != 0, result.stdout[-3000:]
    message = " ".join(failure_message(result.stdout).split())
    assert "Not a real secret in staging: app_mongodb_password." in message, message
    assert value not in result.stdout + result.stderr
    print(f"\n    example file of the inventory in use: {message[:400]}")


@pytest.mark.parametrize("case", ["every-secret-from-the-demo", "example-value-of-app_mongodb_password",
                                  "key-of-another-certificate"])
def test_secrets_and_keys_stay_out_of_verbose_output(case, tls):
    """At -vvv Ansible prints every result and module argument: still no secret, no key line."""
    target, _ = CASES[case]
    result = run_site(target, tls, "-vvv")
    assert result.returncode != 0, result.stdout[-3000:]
    assert FIRST_DEPLOY_PLAY not in result.stdout, result.stdout[-3000:]
    assert_nothing_secret(result, target, tls)


@pytest.mark.parametrize("case", sorted(COVERED_NAMES))
def test_names_the_certificate_covers_pass_validation(case, tls):
    """Issue 21, defect 4: a name equal to a subject alternative name, one label under a wildcard,
    a wildcard name in nginx's spelling that the certificate names as such, an address."""
    names, pair = COVERED_NAMES[case]
    result = run_site({"app_hostnames": names, "app_tls_certificate_src": f"{{tls}}/{pair}.crt",
                       "app_tls_certificate_key_src": f"{{tls}}/{pair}.key"}, tls, playbook=VALIDATE)
    assert_validation_passed(result)
    print(f"\n    {case}: {names} with {pair}.crt passed validation")


@pytest.mark.parametrize("serial", ["app_web_serial=2", "app_web_serial=1%", "app_web_serial=100%", 3])
def test_web_batch_sizes_pass_validation(serial, tls):
    """Issue 21, defect 2: whole numbers (as `-e name=value` gives them: strings) and 1%-100% pass."""
    result = run_site(serial if isinstance(serial, str) else {"app_web_serial": serial}, tls, playbook=VALIDATE)
    assert_validation_passed(result)


# Issue 21, defect 6: an inventory's value of a variable that the playbook's group_vars/ wire would
# be overridden (group vars) or bypass its app_* setting (host vars). Each case: the file written
# into a copy of the bad-input inventory, its content, and the variable and setting to name.
WIRED_IN_INVENTORY = {
    "group-vars-all": ("group_vars/all/x.yml", "nginx_server_names: [foo.example]\n",
                       "nginx_server_names", "app_hostnames"),
    "group-vars-of-a-group": ("group_vars/web.yml", "django_app_source_dir: /srv/elsewhere\n",
                              "django_app_source_dir", "app_source_dir"),
    "host-vars": ("host_vars/web1.yml", "nginx_tls_certificate_src: /etc/ssl/other.crt\n",
                  "nginx_tls_certificate_src", "app_tls_certificate_src"),
    "hosts-file": ("more-hosts.yml", "all:\n  children:\n    web:\n      vars:\n        django_app_debug: true\n",
                   "django_app_debug", "app_debug"),
}


@pytest.mark.parametrize("case", sorted(WIRED_IN_INVENTORY))
def test_inventory_value_of_a_wired_variable_is_refused(case, tls, tmp_path):
    relative, content, variable, setting = WIRED_IN_INVENTORY[case]
    inventory = tmp_path / "inventory"
    shutil.copytree(INVENTORY, inventory)
    (inventory / relative).parent.mkdir(parents=True, exist_ok=True)
    (inventory / relative).write_text("---\n" + content)
    result = run_site(inventory, tls, playbook=VALIDATE)
    output = result.stdout
    assert result.returncode != 0, output[-3000:]
    message = " ".join(failure_message(output).split())
    assert f"{variable} (set in {inventory / relative};" in message, message
    assert f"set {setting} instead" in message, message
    for host, counters in recap(output).items():
        assert counters["changed"] == 0 and counters["unreachable"] == 0, (host, counters)
    print(f"\n    {case}: {message[:400]}")
