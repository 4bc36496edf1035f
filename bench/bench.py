#!/usr/bin/env python3
"""Benchmarks of the project (issue 12): deploy times, serving, deploys under load.

Run by `make bench`, which installs what this needs first (wrk, the project virtualenv, the test
image, the stand-in repository, matplotlib in .cache/bench/venv). It drives the local demo VM
(the systemd container django-mongodb-demo, SSH on 127.0.0.1:2222, site on 127.0.0.1:8080) and
writes bench/results/<date>-<commit>.{md,json} and the PNGs next to them.

Load goes only to 127.0.0.1 and to the demo container; every load loop is bounded in requests
and in seconds (wrk through bench/wrk-bounded.lua and -d; tests/loadgen/loadgen.py through
--max-requests and --max-seconds).

Environment knobs: BENCH_RUNS (3), BENCH_SECONDS (8, one wrk run), BENCH_REQUESTS (1000000, one
wrk run), BENCH_CONNECTIONS (16), BENCH_PARTS (deploy,serving,load: any subset), BENCH_TREE
(worktree, or HEAD: the committed tree plus the work-tree files named in BENCH_OVERLAY),
BENCH_MITOGEN (1: also run the no-op and both code-only redeploys through Mitogen, the
accelerator the Molecule scenarios use, tests/harness/strategy_plugins; 0: plain SSH only),
BENCH_EXTRA_VARS (one more --extra-vars for every playbook run, for experiments), BENCH_LABEL
(appended to the results' file names), BENCH_PRECOMPRESS (1: gzip the collected static files next
to themselves before the static figure; an experiment for gzip_static, not what the roles do).
"""
import datetime
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
CACHE = ROOT / ".cache" / "bench"
LOGS = CACHE / "logs"
APP_COPY = CACHE / "app"
CONTAINER = "django-mongodb-demo"
IMAGE = "localhost/django-mongodb-test:" + os.environ.get("SUITE", "bookworm")
KEY = ROOT / ".cache" / "demo" / "id_ed25519"
SITE = "http://127.0.0.1:8080"
APP_NAME = "hellodjango"
REQUIREMENTS = "requirements/mongodb-backend.txt"  # the default connector's file

RUNS = int(os.environ.get("BENCH_RUNS", "3"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1000000"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
PARTS = set(os.environ.get("BENCH_PARTS", "deploy,serving,load").split(","))
BARE_PORT = 8081  # bare nginx (package defaults) serving the static directory
GUNICORN_PORT = 8082  # the same bare nginx proxying to gunicorn
GUNICORN_VERSION = "23.0.0"

T0 = time.monotonic()
TREE = ROOT  # where ansible-playbook runs (prepare_tree)


def log(msg):
    print(f"bench [{time.monotonic() - T0:6.0f}s] {msg}", flush=True)


def run(argv, check=True, capture=True, env=None, input_text=None):
    res = subprocess.run(argv, check=False, text=True, env=env, input=input_text,
                         stdout=subprocess.PIPE if capture else None,
                         stderr=subprocess.STDOUT if capture else None)
    if check and res.returncode != 0:
        sys.exit(f"bench: command failed ({res.returncode}): {' '.join(map(str, argv))}\n"
                 f"{(res.stdout or '')[-3000:]}")
    return res


def in_vm(script, check=True, input_text=None):
    """Run a shell script as root inside the demo VM (podman exec, not over SSH)."""
    return run(["podman", "exec", "-i", CONTAINER, "sh", "-euc", script], check=check,
               input_text=input_text)


def load_note():
    """The machine's load and the other containers running: shared machine, say so."""
    one, five, _ = os.getloadavg()
    others = run(["podman", "ps", "--format", "{{.Names}}"], check=False).stdout.split()
    others = sorted(n for n in others if n != CONTAINER)
    return {"loadavg_1m": round(one, 2), "loadavg_5m": round(five, 2), "other_containers": others}


# --- the demo VM --------------------------------------------------------------------------------

def create_vm():
    """A fresh demo VM, exactly as tests/harness/demo.sh up creates one (image cached)."""
    run(["podman", "rm", "--force", "--ignore", CONTAINER])
    KEY.parent.mkdir(parents=True, exist_ok=True)
    if not KEY.exists():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "demo-deploy", "-f", str(KEY)])
    run(["podman", "run", "--detach", "--name", CONTAINER, "--hostname", "demo", "--systemd=always",
         "--cap-add", "NET_ADMIN",
         "--publish", "127.0.0.1:8080:80", "--publish", "127.0.0.1:2222:22",
         "--volume", f"{ROOT}/.cache/mongodb-repo:/srv/mongodb-repo:ro", IMAGE, "/sbin/init"])
    in_vm("""
      until systemctl is-active --quiet ssh; do sleep 1; done
      useradd --create-home --shell /bin/bash deploy
      echo "deploy ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/deploy
      chmod 0440 /etc/sudoers.d/deploy
      install -d -m 0700 -o deploy -g deploy /home/deploy/.ssh
      cat > /home/deploy/.ssh/authorized_keys
      chown deploy:deploy /home/deploy/.ssh/authorized_keys
      chmod 0600 /home/deploy/.ssh/authorized_keys""", input_text=KEY.with_suffix(".pub").read_text())
    # sshd answers a moment after the unit is active
    for _ in range(60):
        if run(["ssh", "-p", "2222", "-i", str(KEY), "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                "deploy@127.0.0.1", "true"], check=False).returncode == 0:
            return
        time.sleep(1)
    sys.exit("bench: the demo VM's SSH does not answer on 127.0.0.1:2222")


def vm_running():
    res = run(["podman", "container", "inspect", "--format", "{{.State.Running}}", CONTAINER],
              check=False)
    return res.returncode == 0 and res.stdout.strip() == "true"


def prepare_app_copy():
    """The reference app copied to .cache/bench/app: the code and requirements changes of the
    benchmark are made there, never in app/."""
    if APP_COPY.exists():
        shutil.rmtree(APP_COPY)
    def ignore(directory, names):
        top = {"static", "media"} if Path(directory) == ROOT / "app" else set()
        return [n for n in names if n in top or n == "__pycache__" or n.endswith(".pyc")]

    shutil.copytree(ROOT / "app", APP_COPY, ignore=ignore)


def prepare_tree():
    """The tree the playbook runs from: the work tree (default), or with BENCH_TREE=HEAD the
    committed tree (git archive, no change to git state) plus BENCH_OVERLAY, paths copied from
    the work tree: measures settings being tuned while other uncommitted work is in progress."""
    global TREE
    if os.environ.get("BENCH_TREE", "worktree") != "HEAD":
        TREE = ROOT
        return
    TREE = CACHE / "tree"
    if TREE.exists():
        shutil.rmtree(TREE)
    TREE.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "HEAD"], cwd=ROOT, stdout=subprocess.PIPE, check=True)
    subprocess.run(["tar", "-x", "-C", str(TREE)], input=archive.stdout, check=True)
    for rel in os.environ.get("BENCH_OVERLAY", "").split():
        shutil.copy2(ROOT / rel, TREE / rel)
    (TREE / ".cache").mkdir()
    (TREE / ".cache" / "demo").symlink_to(ROOT / ".cache" / "demo")


def code_change():
    """A code-only change: a new module in the project package (the release checksum changes,
    the requirements do not)."""
    (APP_COPY / "hellodjango" / "bench_stamp.py").write_text(f'STAMP = "{uuid.uuid4().hex}"\n')


# A package the application does not import, pinned at another of these versions by each
# requirements change of a run (the role names a virtualenv by the pinned lines, so a comment
# alone is no change).
EXTRA_PIN_VERSIONS = ["1.17.0", "1.16.0", "1.15.0", "1.14.0", "1.13.0", "1.12.0", "1.11.0", "1.10.0"]
extra_pins = iter(EXTRA_PIN_VERSIONS)


def requirements_change():
    """A requirements change: one more pinned package (six), at a version no earlier change of this
    run used, so the role builds a new virtualenv and restarts uWSGI; the application's own pins
    stay the same, so it keeps working."""
    path = APP_COPY / REQUIREMENTS
    lines = [line for line in path.read_text().splitlines() if not line.startswith("six==")]
    try:
        lines.append(f"six=={next(extra_pins)}")
    except StopIteration:
        sys.exit(f"bench: more requirements changes than versions in EXTRA_PIN_VERSIONS ({len(EXTRA_PIN_VERSIONS)})")
    path.write_text("\n".join(lines) + "\n")


MITOGEN = os.environ.get("BENCH_MITOGEN", "1") == "1"


def mitogen_env():
    """The environment that runs a playbook through Mitogen's linear strategy, as the Molecule
    scenarios do (.config/molecule/config.yml). Mitogen checks host keys itself and does not read
    the inventory's ssh arguments: the demo VM's host key is new at every creation, as the
    inventory's StrictHostKeyChecking=no says."""
    return {"ANSIBLE_STRATEGY": "mitogen_linear",
            "ANSIBLE_STRATEGY_PLUGINS": str(ROOT / "tests" / "harness" / "strategy_plugins"),
            "ANSIBLE_HOST_KEY_CHECKING": "False"}


def playbook(label, profile=False, extra_env=None, extra_args=()):
    """One ansible-playbook site.yml run (extra_args: e.g. --tags deploy): seconds, changed count,
    task count, log path."""
    LOGS.mkdir(parents=True, exist_ok=True)
    logfile = LOGS / f"{label}.log"
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="0", **(extra_env or {}))
    if profile:
        env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"
        env["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] = "15"
    argv = ["ansible-playbook", "-i", "inventory/local", "site.yml",
            "--extra-vars", "@tests/harness/offline-mongodb.yml",
            "--extra-vars", f"app_source_dir={APP_COPY}"]
    if os.environ.get("BENCH_EXTRA_VARS"):
        argv += ["--extra-vars", os.environ["BENCH_EXTRA_VARS"]]
    argv += list(extra_args)
    start = time.monotonic()
    res = subprocess.run(argv, cwd=TREE, env=env, text=True, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, check=False)
    seconds = time.monotonic() - start
    logfile.write_text(res.stdout)
    if res.returncode != 0:
        sys.exit(f"bench: ansible-playbook failed ({label}), see {logfile}\n{res.stdout[-3000:]}")
    changed = sum(int(m) for m in re.findall(r"\bchanged=(\d+)", res.stdout.split("PLAY RECAP")[-1]))
    tasks = len(re.findall(r"^TASK \[", res.stdout, re.M))
    log(f"{label}: {seconds:.1f} s, changed={changed}, {tasks} tasks")
    return {"seconds": round(seconds, 1), "changed": changed, "tasks": tasks, "log": str(logfile),
            "output": res.stdout if profile else None}


def profile_top(output):
    rows = []
    for line in output.split("PLAY RECAP")[-1].splitlines():
        m = re.match(r"^(.*?)\s-{2,}\s+(\d+\.\d+)s$", line.strip())
        if m:
            rows.append({"task": m.group(1).strip(), "seconds": float(m.group(2))})
    return rows[:15]


def deploy_times(results):
    runs = {"cold": [], "noop": [], "code": [], "code_tags_deploy": [], "requirements": []}
    for i in range(RUNS):
        results["load"][f"cold converge {i + 1}"] = load_note()
        create_vm()
        runs["cold"].append(playbook(f"cold-{i + 1}"))
    for i in range(RUNS):
        runs["noop"].append(playbook(f"noop-{i + 1}"))
    if MITOGEN:
        runs["noop_mitogen"] = [playbook(f"noop-mitogen-{i + 1}", extra_env=mitogen_env()) for i in range(RUNS)]
    prof = playbook("noop-profile", profile=True)
    results["noop_profile"] = {"seconds": prof["seconds"], "changed": prof["changed"],
                               "top15": profile_top(prof["output"])}
    # The code-only redeploys: site.yml, then --tags deploy; each also through Mitogen (MITOGEN).
    redeploys = [("code", "code", {}), ("code_tags_deploy", "code-tags-deploy", {"extra_args": ["--tags", "deploy"]})]
    if MITOGEN:
        redeploys += [(f"{kind}_mitogen", f"{label}-mitogen", dict(options, extra_env=mitogen_env()))
                      for kind, label, options in redeploys]
    for kind, label, options in redeploys:
        runs[kind] = []
        for i in range(RUNS):
            code_change()
            runs[kind].append(playbook(f"{label}-{i + 1}", **options))
    for i in range(RUNS):
        requirements_change()
        runs["requirements"].append(playbook(f"requirements-{i + 1}"))
    out = {}
    for kind, items in runs.items():
        out[kind] = {"runs_s": [r["seconds"] for r in items],
                     "median_s": statistics.median(r["seconds"] for r in items),
                     "changed": [r["changed"] for r in items],
                     "tasks": [r["tasks"] for r in items]}
    cold = out["cold"]["median_s"]
    for kind in [k for k in out if k != "cold"]:
        out[kind]["ratio_to_cold"] = round(out[kind]["median_s"] / cold, 3)
    results["deploy"] = out
    drift_repair(results)


def drift_repair(results):
    """A no-op run must still repair drift (issue 12): the nginx site file deleted, the live
    environment file made world-readable, uWSGI and its socket stopped; the next run restores all
    three and the site answers."""
    env_file = f"/srv/{APP_NAME}/current/environment.json"
    in_vm(f"""
      rm /etc/nginx/sites-available/{APP_NAME} /etc/nginx/sites-enabled/{APP_NAME}
      chmod 0666 {env_file}
      systemctl stop uwsgi-{APP_NAME}.socket uwsgi-{APP_NAME}.service""")
    run_ = playbook("drift")
    state = in_vm(f"""
      test -f /etc/nginx/sites-enabled/{APP_NAME} && echo site=restored || echo site=missing
      echo mode=$(stat -c %a {env_file})
      echo uwsgi=$(systemctl is-active uwsgi-{APP_NAME}.service)""", check=False).stdout
    found = dict(line.split("=", 1) for line in state.split() if "=" in line)
    found["home"] = run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10", f"{SITE}/"],
                        check=False).stdout.strip()
    results["drift"] = {"changed": run_["changed"], **found,
                        "repaired": found.get("site") == "restored" and found.get("mode") == "640"
                        and found.get("uwsgi") == "active" and found.get("home") == "200"}


# --- serving --------------------------------------------------------------------------------

def vm_ip():
    return run(["podman", "container", "inspect", "--format",
                "{{.NetworkSettings.IPAddress}}", CONTAINER]).stdout.strip()


def uwsgi_workers():
    ini = in_vm(f"cat /etc/uwsgi/{APP_NAME}.ini").stdout
    procs = int(re.search(r"^processes\s*=\s*(\d+)", ini, re.M).group(1))
    threads = int(re.search(r"^threads\s*=\s*(\d+)", ini, re.M).group(1))
    return procs, threads


def setup_comparison(procs, threads):
    """Inside the VM: a bare nginx (the package's own nginx.conf, its own pid and ports) serving
    the static directory on BARE_PORT and proxying to gunicorn on GUNICORN_PORT; gunicorn (from a
    scratch venv) serving the same release with the same virtualenv, processes and threads."""
    in_vm(f"""
      venv=/opt/bench-gunicorn
      [ -x $venv/bin/gunicorn ] || {{ python3 -m venv $venv; $venv/bin/pip install --quiet \
          --disable-pip-version-check gunicorn=={GUNICORN_VERSION}; }}
      mkdir -p /etc/nginx-bench
      # The package's nginx.conf without the project's conf.d and sites: defaults only.
      sed -e 's#include /etc/nginx/conf.d/\\*.conf;##' \
          -e 's#include /etc/nginx/sites-enabled/\\*;#include /etc/nginx-bench/site.conf;#' \
          -e 's#^pid .*#pid /run/nginx-bench.pid;#' /etc/nginx/nginx.conf > /etc/nginx-bench/nginx.conf
      cat > /etc/nginx-bench/site.conf <<'EOF'
server {{
    listen {BARE_PORT};
    access_log off;
    root /srv/{APP_NAME}/current/static;
}}
server {{
    listen {GUNICORN_PORT};
    access_log off;
    location / {{
        proxy_set_header Host $http_host;
        proxy_pass http://unix:/run/bench-gunicorn/gunicorn.sock;
    }}
}}
EOF
      nginx -t -q -c /etc/nginx-bench/nginx.conf
      if [ -f /run/nginx-bench.pid ] && kill -0 "$(cat /run/nginx-bench.pid)" 2>/dev/null; then
        nginx -c /etc/nginx-bench/nginx.conf -s reload
      else nginx -c /etc/nginx-bench/nginx.conf; fi
      systemctl stop bench-gunicorn.service 2>/dev/null || true
      systemctl reset-failed bench-gunicorn.service 2>/dev/null || true
      env=$(systemctl show -p Environment --value uwsgi-{APP_NAME}.service)
      site=$(ls -d $venv/lib/python3*/site-packages)
      systemd-run --quiet --unit bench-gunicorn --uid {APP_NAME} --gid {APP_NAME} \
        -p RuntimeDirectory=bench-gunicorn -p RuntimeDirectoryMode=0755 \
        -p WorkingDirectory=/srv/{APP_NAME}/current -p "Environment=$env PYTHONPATH=$site" \
        /srv/{APP_NAME}/current/.venv/bin/python -m gunicorn --workers {procs} --threads {threads} \
        --worker-class gthread --bind unix:/run/bench-gunicorn/gunicorn.sock --umask 0000 \
        --log-level warning hellodjango.wsgi:application
      for i in $(seq 1 60); do
        [ -S /run/bench-gunicorn/gunicorn.sock ] && python3 -c 'import sys, urllib.request
req = urllib.request.Request(sys.argv[1], headers={{"Host": "localhost"}})
urllib.request.urlopen(req, timeout=5)' http://127.0.0.1:{GUNICORN_PORT}/ 2>/dev/null && exit 0
        sleep 0.5
      done
      echo "gunicorn did not answer" >&2; journalctl -u bench-gunicorn --no-pager | tail -20; exit 1
    """)


def teardown_comparison():
    in_vm("""
      systemctl stop bench-gunicorn.service 2>/dev/null || true
      [ -f /run/nginx-bench.pid ] && nginx -c /etc/nginx-bench/nginx.conf -s quit || true
    """, check=False)


def wrk(url, headers=(), label=""):
    """One bounded wrk run: requests/s, p50/p99 ms, non-2xx/3xx and socket errors."""
    threads = 2
    argv = ["wrk", "-t", str(threads), "-c", str(CONNECTIONS), "-d", f"{SECONDS}s", "--timeout", "10s",
            "--latency", "-s", str(BENCH / "wrk-bounded.lua")]
    for h in headers:
        argv += ["-H", h]
    argv += [url, "--", str(REQUESTS), str(threads)]
    out = run(argv).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def pct(p):
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        value, unit = float(m.group(1)), m.group(2)
        return round(value * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)

    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": rps, "p50_ms": pct(50), "p99_ms": pct(99), "non2xx": int(m.group(1)) if m else 0,
            "socket_errors": sum(int(x) for x in sock.groups()) if sock else 0}


def summary(reps):
    return {"reps": reps,
            "rps": round(statistics.median(r["rps"] for r in reps), 1),
            "p50_ms": statistics.median(r["p50_ms"] for r in reps),
            "p99_ms": statistics.median(r["p99_ms"] for r in reps),
            "non2xx": sum(r["non2xx"] for r in reps),
            "socket_errors": sum(r["socket_errors"] for r in reps)}


def repeated(url, headers=()):
    return summary([wrk(url, headers) for _ in range(RUNS)])


def paired(url_a, headers_a, url_b, headers_b):
    """Two figures compared side by side: their runs alternate (a, b, a, b, ...), so that the
    other work on a shared machine weighs on both alike."""
    a, b = [], []
    for _ in range(RUNS):
        a.append(wrk(url_a, headers_a))
        b.append(wrk(url_b, headers_b))
    return summary(a), summary(b)


def content_encoding(url, host=None):
    argv = ["curl", "-s", "-o", "/dev/null", "-D", "-", "--max-time", "10", "-H", "Accept-Encoding: gzip"]
    if host:
        argv += ["-H", f"Host: {host}"]
    head = run(argv + [url]).stdout
    m = re.search(r"^content-encoding:\s*(\S+)", head, re.M | re.I)
    return m.group(1) if m else "identity"


def serving(results):
    ip = vm_ip()
    procs, threads = uwsgi_workers()
    results["load"]["serving"] = load_note()
    log(f"serving: VM at {ip}; uWSGI {procs} processes x {threads} threads; setting up the comparison")
    setup_comparison(procs, threads)
    manifest = json.loads(in_vm(f"cat /srv/{APP_NAME}/current/static/staticfiles.json").stdout)
    static = manifest["paths"]["admin/css/base.css"]
    gz = ["Accept-Encoding: gzip"]
    project_static = f"http://{ip}/static/{static}"
    bare_static = f"http://{ip}:{BARE_PORT}/{static}"
    s = {"file": static, "workers": {"processes": procs, "threads": threads}}
    if os.environ.get("BENCH_PRECOMPRESS") == "1":
        # Experiment only (what a django_app change would give, see bench/README.md): a .gz next
        # to each compressible collected file, for nginx's gzip_static.
        in_vm(f"""find /srv/{APP_NAME}/current/static/ -type f \\( -name '*.css' -o -name '*.js' -o -name '*.svg' \\
                 -o -name '*.txt' -o -name '*.json' \\) -size +255c -exec gzip -k -f -9 {{}} +""")
        s["precompressed"] = True
    log("serving: static file, project nginx vs bare nginx")
    s["static_project"], s["static_bare"] = paired(project_static, ["Host: localhost"] + gz, bare_static, gz)
    s["static_project"]["content_encoding"] = content_encoding(project_static, "localhost")
    s["static_bare"]["content_encoding"] = content_encoding(bare_static)
    s["static_ratio"] = round(s["static_project"]["rps"] / s["static_bare"]["rps"], 3)
    if s.get("precompressed"):
        # The experiment's files go again: the release stays as the role built it.
        in_vm(f"find /srv/{APP_NAME}/current/static/ -type f -name '*.gz' -delete")
    log("serving: home page, nginx -> uWSGI vs nginx -> gunicorn")
    s["home_uwsgi"], s["home_gunicorn"] = paired(f"http://{ip}/", ["Host: localhost"],
                                                 f"http://{ip}:{GUNICORN_PORT}/", ["Host: localhost"])
    s["home_ratio"] = round(s["home_uwsgi"]["rps"] / s["home_gunicorn"]["rps"], 3)
    log("serving: /healthz")
    s["healthz"] = repeated(f"http://{ip}/healthz", ["Host: localhost"])
    teardown_comparison()
    results["serving"] = s


# --- deploys under load -----------------------------------------------------------------------

def under_load(results, kind):
    change = code_change if kind == "code" else requirements_change
    change()
    stop = Path(tempfile.mkdtemp(prefix="bench-")) / "stop"
    results["load"][f"under load {kind}"] = load_note()
    argv = [sys.executable, str(ROOT / "tests/loadgen/loadgen.py"), f"{SITE}/", "-c", "8",
            "--timeout", "30", "--max-seconds", "600", "--max-requests", "3000000",
            "--stop-file", str(stop)]
    start = time.monotonic()
    gen = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    time.sleep(5)
    t1 = time.monotonic() - start
    dep = playbook(f"under-load-{kind}")
    t2 = time.monotonic() - start
    time.sleep(5)
    stop.touch()
    report = json.loads(gen.communicate(timeout=120)[0])
    shutil.rmtree(stop.parent, ignore_errors=True)
    return {"deploy_s": dep["seconds"], "changed": dep["changed"], "window_s": [round(t1, 1), round(t2, 1)],
            "requests": report["requests"], "non2xx": report["non2xx"],
            "errors": report["errors_total"], "errors_by_kind": report["errors"], "status": report["status"],
            "stale_retries": report.get("stale_retries", 0), "rps": report["requests_per_s"],
            "latency_ms": report["latency_ms"], "series": report["series"]}


def deploys_under_load(results):
    results["under_load"] = {}
    for kind in ("code", "requirements"):
        log(f"under load: {kind} redeploy")
        results["under_load"][kind] = under_load(results, kind)


def plot(results, stem):
    """One PNG per deploy under load: requests/s and p99 per second, the deploy window shaded.
    Drawn by bench/plot.py in the matplotlib venv (.cache/bench/venv)."""
    py = CACHE / "venv" / "bin" / "python"
    pngs = {}
    for kind, data in results.get("under_load", {}).items():
        png = BENCH / "results" / f"{stem}-{kind}-under-load.png"
        res = subprocess.run([str(py), str(BENCH / "plot.py"), str(png), kind],
                             input=json.dumps(data), text=True, check=False)
        if res.returncode == 0:
            pngs[kind] = png.name
        else:
            log(f"plot: failed for {kind} (matplotlib venv at {py}?)")
    return pngs


# --- results ----------------------------------------------------------------------------------

def machine():
    mem_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    cpu = re.search(r"model name\s*:\s*(.+)", Path("/proc/cpuinfo").read_text())
    return {"cores": os.cpu_count(), "memory_gib": round(mem_kb / 1024 / 1024, 1),
            "cpu": cpu.group(1).strip() if cpu else "unknown"}


def table(results):
    rows = []

    def add(figure, value, target, met):
        rows.append({"figure": figure, "value": value, "target": target,
                     "met": None if met is None else bool(met)})

    d = results.get("deploy")
    if d:
        add("cold converge (median s)", f"{d['cold']['median_s']} s ({d['cold']['runs_s']})", "-", None)
        add("no-op re-run / cold",
            f"{d['noop']['ratio_to_cold']} ({d['noop']['median_s']} s, changed={d['noop']['changed']})",
            "<= 0.20, changed=0", d["noop"]["ratio_to_cold"] <= 0.20 and not any(d["noop"]["changed"]))
        if "noop_mitogen" in d:
            add("no-op re-run through Mitogen / cold (the scenarios' accelerator; opt-in for users)",
                f"{d['noop_mitogen']['ratio_to_cold']} ({d['noop_mitogen']['median_s']} s, "
                f"changed={d['noop_mitogen']['changed']})", "<= 0.20, changed=0",
                d["noop_mitogen"]["ratio_to_cold"] <= 0.20 and not any(d["noop_mitogen"]["changed"]))
        r = results.get("drift")
        if r:
            add("a no-op run repairs drift (site file deleted, environment file 0666, uWSGI stopped)",
                f"site {r.get('site')}, environment file mode {r.get('mode')}, uWSGI {r.get('uwsgi')}, "
                f"home page {r.get('home')} (changed={r['changed']})", "all restored", r["repaired"])
        for kind, figure, bound in (
                ("code", "code-only redeploy of site.yml / cold", 0.30),
                ("code_tags_deploy", "code-only redeploy, --tags deploy / cold", 0.15),
                ("code_mitogen", "code-only redeploy of site.yml through Mitogen / cold", 0.30),
                ("code_tags_deploy_mitogen", "code-only redeploy, --tags deploy, through Mitogen / cold", 0.15)):
            if kind in d:
                add(figure, f"{d[kind]['ratio_to_cold']} ({d[kind]['median_s']} s)", f"<= {bound:.2f}",
                    d[kind]["ratio_to_cold"] <= bound)
        add("requirements-change redeploy / cold",
            f"{d['requirements']['ratio_to_cold']} ({d['requirements']['median_s']} s)", "-", None)
    s = results.get("serving")
    if s:
        sp, sb = s["static_project"], s["static_bare"]
        add("static file: project nginx / bare nginx (req/s)",
            f"{s['static_ratio']} ({sp['rps']} vs {sb['rps']}; "
            f"sent as {sp['content_encoding']} vs {sb['content_encoding']}"
            + ("; .gz files added by hand, experiment)" if s.get("precompressed") else ")"),
            ">= 1.0, compressed", s["static_ratio"] >= 1.0 and sp["content_encoding"] == "gzip")
        hu, hg = s["home_uwsgi"], s["home_gunicorn"]
        add("home page: uWSGI / gunicorn (req/s)",
            f"{s['home_ratio']} ({hu['rps']} vs {hg['rps']}; p50 {hu['p50_ms']} vs {hg['p50_ms']} ms, "
            f"p99 {hu['p99_ms']} vs {hg['p99_ms']} ms; {s['workers']['processes']}x{s['workers']['threads']})",
            ">= 1.0", s["home_ratio"] >= 1.0)
        add("home page p99: uWSGI / gunicorn", f"{round(hu['p99_ms'] / hg['p99_ms'], 2)} ({hu['p99_ms']} vs "
            f"{hg['p99_ms']} ms)", "<= 2", hu["p99_ms"] <= 2 * hg["p99_ms"])
        h = s["healthz"]
        add("/healthz req/s, p99", f"{h['rps']} req/s, p99 {h['p99_ms']} ms (p50 {h['p50_ms']} ms)", "-", None)
    for kind, u in results.get("under_load", {}).items():
        add(f"failed requests during a {'code-only' if kind == 'code' else 'requirements-change'} deploy under load",
            f"{u['non2xx']} non-2xx, {u['errors']} socket errors of {u['requests']} "
            f"(deploy {u['deploy_s']} s, {u['stale_retries']} stale keep-alive retries)", "0",
            u["non2xx"] == 0 and u["errors"] == 0)
    return rows


def write_results(results, stem, pngs):
    out = BENCH / "results"
    out.mkdir(parents=True, exist_ok=True)
    rows = table(results)
    results["table"] = rows
    results["pngs"] = pngs
    slim = json.loads(json.dumps(results))
    for u in slim.get("under_load", {}).values():
        u["series"] = u["series"]  # kept: the PNG's data
    (out / f"{stem}.json").write_text(json.dumps(slim, indent=2) + "\n")
    m = results["machine"]
    lines = [f"# Benchmark {stem}", "",
             f"Commit {results['commit']} ({'with uncommitted changes' if results['dirty'] else 'clean tree'}), "
             f"{results['date']}. Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB memory. "
             f"Playbooks run from: {results['tree']}. Runs per figure: {RUNS}; "
             f"wrk: {SECONDS} s or {REQUESTS} requests, {CONNECTIONS} connections.", "",
             "| figure | value | target | met |", "|---|---|---|---|"]
    for r in rows:
        met = "-" if r["met"] is None else ("yes" if r["met"] else "**no**")
        lines.append(f"| {r['figure']} | {r['value']} | {r['target']} | {met} |")
    lines += ["", "## Machine load while measuring", "",
              "The machine is shared: other work (e.g. Molecule containers) may have run at the same time.", "",
              "| part | load 1 min | load 5 min | other containers |", "|---|---|---|---|"]
    for part, note in results["load"].items():
        lines.append(f"| {part} | {note['loadavg_1m']} | {note['loadavg_5m']} | "
                     f"{', '.join(note['other_containers']) or 'none'} |")
    prof = results.get("noop_profile")
    if prof:
        lines += ["", f"## No-op run: top 15 tasks (profile_tasks, {prof['seconds']} s, changed={prof['changed']})", "",
                  "| task | s |", "|---|---|"]
        lines += [f"| {t['task'].replace('|', '/')} | {t['seconds']} |" for t in prof["top15"]]
    if pngs:
        lines += ["", "## Deploys under load", ""]
        for kind, name in pngs.items():
            u = results["under_load"][kind]
            lines += [f"{kind}: deploy window {u['window_s'][0]}-{u['window_s'][1]} s of the load run, "
                      f"{u['rps']} req/s overall, p99 {u['latency_ms'].get('p99')} ms.", "",
                      f"![{kind} redeploy under load]({name})", ""]
    (out / f"{stem}.md").write_text("\n".join(lines) + "\n")
    return out / f"{stem}.md"


def main():
    os.chdir(ROOT)
    commit = run(["git", "rev-parse", "--short", "HEAD"]).stdout.strip()
    dirty = bool(run(["git", "status", "--porcelain", "--untracked-files=no"]).stdout.strip())
    now = datetime.datetime.now()
    label = re.sub(r"[^A-Za-z0-9_.-]", "-", os.environ.get("BENCH_LABEL", ""))
    stem = f"{now:%Y-%m-%d}-{commit}" + (f"-{label}" if label else "")
    results = {"date": now.isoformat(timespec="seconds"), "commit": commit, "dirty": dirty,
               "machine": machine(), "settings": {"runs": RUNS, "seconds": SECONDS, "requests": REQUESTS,
                                                  "connections": CONNECTIONS, "parts": sorted(PARTS)},
               "load": {"start": load_note()}}
    log(f"machine {results['machine']}, load {results['load']['start']}")
    prepare_app_copy()
    prepare_tree()
    results["tree"] = "work tree" if TREE == ROOT else "HEAD + " + (os.environ.get("BENCH_OVERLAY") or "nothing")
    results["dirty"] = dirty and TREE == ROOT  # uncommitted changes in what the playbooks ran
    if "deploy" in PARTS:
        deploy_times(results)
    elif not vm_running():
        log("the demo VM is not running: creating it and converging once")
        create_vm()
        playbook("converge")
    else:
        playbook("converge")  # the VM runs the release of .cache/bench/app
    if "serving" in PARTS:
        serving(results)
    if "load" in PARTS:
        deploys_under_load(results)
    pngs = plot(results, stem)
    md = write_results(results, stem, pngs)
    log(f"results: {md}")
    print(md.read_text())


if __name__ == "__main__":
    main()
