"""Post-install steps the django_app role runs against the user's Django project.

Shipped by the role (not by the project) and run with the release's virtualenv, as the
application user, in the release directory:

    python postinstall.py wait-db --timeout 600 --interval 10
    python postinstall.py check-app --wsgi hellodjango.wsgi:application
    python postinstall.py ensure-superuser --username admin --email admin@localhost  < password
    python postinstall.py check-site --host www.example.com --https --path /admin/login/ --status 200
    python postinstall.py chain-reload --trigger /run/uwsgi-app/reload --stats /run/uwsgi-app/stats.sock
    python postinstall.py compress-static --root static

It relies only on Django's public API and on PyMongo (which every MongoDB connector brings).
Settings come from DJANGO_SETTINGS_MODULE and the environment file named by DJANGO_ENV_FILE,
both set by the role. Secrets never travel on the command line: the superuser's password is
read from standard input, the MongoDB URL from the environment file.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import importlib
import json
import os
import socket
import ssl
import sys
import time
import traceback


def _environment() -> dict:
    path = os.environ.get("DJANGO_ENV_FILE", "")
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError) as exc:
        sys.exit(f"postinstall: cannot read the environment file {path!r} (DJANGO_ENV_FILE): {exc}")


def wait_db(args: argparse.Namespace) -> int:
    """Poll MongoDB with an authenticated command until it answers or the deadline passes."""
    from pymongo import MongoClient
    from pymongo.errors import PyMongoError

    url = _environment().get("MONGODB_URL", "")
    if not url:
        sys.exit("postinstall: the environment file has no MONGODB_URL")
    attempt_ms = int(min(args.interval, 5) * 1000)
    client = MongoClient(url, serverSelectionTimeoutMS=attempt_ms, connectTimeoutMS=attempt_ms)
    database = client.get_default_database()
    start = time.monotonic()
    attempt = 0
    while True:
        attempt += 1
        try:
            # Needs an authenticated user with rights on the database, unlike ping.
            database.command("listCollections", nameOnly=True, authorizedCollections=True)
        except PyMongoError as exc:
            waited = time.monotonic() - start
            if waited + args.interval > args.timeout:
                print(f"MongoDB did not answer within {args.timeout} s ({attempt} attempts); "
                      f"last error: {type(exc).__name__}: {exc}", file=sys.stderr)
                return 1
            print(f"attempt {attempt}: {type(exc).__name__}; retrying in {args.interval} s",
                  file=sys.stderr)
            time.sleep(args.interval)
        else:
            print(f"MongoDB is ready (attempt {attempt}, {time.monotonic() - start:.1f} s)")
            return 0


def check_app(args: argparse.Namespace) -> int:
    """Load the WSGI application and its URL configuration as uWSGI's workers would."""
    module_name, _, callable_name = args.wsgi.partition(":")
    try:
        module = importlib.import_module(module_name)
        application = getattr(module, callable_name or "application")
        if not callable(application):
            raise TypeError(f"{args.wsgi} is not callable")
        from django.urls import get_resolver

        # Importing the URL configuration imports every view module, as the first request would.
        _ = get_resolver().url_patterns
    except BaseException:  # noqa: BLE001 - report whatever stops the application from loading
        print(f"The release cannot load {args.wsgi}:", file=sys.stderr)
        traceback.print_exc()
        return 1
    print(f"{args.wsgi} loads")
    return 0


def ensure_superuser(args: argparse.Namespace) -> int:
    """Create the superuser if missing; never change an existing one. Prints created/exists."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    password = sys.stdin.read().rstrip("\n")
    if not password:
        sys.exit("postinstall: no password on standard input")
    user_model = get_user_model()
    manager = user_model._default_manager
    username_field = user_model.USERNAME_FIELD
    if manager.filter(**{username_field: args.username}).exists():
        print("exists")
        return 0
    fields = {username_field: args.username, "password": password}
    email_field = user_model.get_email_field_name()
    if email_field != username_field and any(f.name == email_field for f in user_model._meta.get_fields()):
        fields[email_field] = args.email
    manager.create_superuser(**fields)
    print("created")
    return 0


def _get_status(args: argparse.Namespace) -> int:
    """One GET of the site through the local nginx, with the site's name as SNI and Host."""
    sock = socket.create_connection(("127.0.0.1", 443 if args.https else 80), timeout=10)
    if args.https:
        context = ssl.create_default_context()
        # The certificate is the site's business; this only asks whether the site answers.
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        sock = context.wrap_socket(sock, server_hostname=args.host)
    connection = http.client.HTTPConnection(args.host, timeout=10)
    connection.sock = sock
    try:
        connection.request("GET", args.path, headers={"Host": args.host, "User-Agent": "django_app health check"})
        return connection.getresponse().status
    finally:
        connection.close()


def check_site(args: argparse.Namespace) -> int:
    """Ask the site through nginx until it answers one of the healthy statuses or time runs out."""
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            status = _get_status(args)
        except OSError as exc:
            last = f"{type(exc).__name__}: {exc}"
        else:
            if status in args.status:
                print(f"{args.path} answered {status}")
                return 0
            last = f"HTTP {status}"
        if time.monotonic() >= deadline:
            print(f"{'https' if args.https else 'http'}://{args.host}{args.path} through the local nginx "
                  f"did not answer {args.status} within {args.timeout} s; last answer: {last}", file=sys.stderr)
            return 1
        time.sleep(1)


def _workers(stats: str) -> list[tuple[int, bool]]:
    """The workers that uWSGI's stats socket lists, as (pid, accepting requests)."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(10)
        sock.connect(stats)
        data = b"".join(iter(lambda: sock.recv(65536), b""))
    return [(worker["pid"], bool(worker.get("accepting", 1))) for worker in json.loads(data)["workers"]]


def chain_reload(args: argparse.Namespace) -> int:
    """Touch uWSGI's chain-reload file, then wait until every worker from before is replaced.

    The touch returns at once and uWSGI replaces its workers one at a time: until the last old
    worker is gone, a request may still be answered by the release that was live before, so a
    health check asked earlier could pass for a release that fails it.
    """
    before = {pid for pid, _ in _workers(args.stats)}
    with open(args.trigger, "a", encoding="utf-8"):
        pass
    os.utime(args.trigger)
    deadline = time.monotonic() + args.timeout
    while True:
        try:
            workers = _workers(args.stats)
        except (OSError, ValueError, KeyError) as exc:
            last = f"stats socket {args.stats}: {type(exc).__name__}: {exc}"
        else:
            left = before & {pid for pid, _ in workers}
            if workers and not left and all(accepting for _, accepting in workers):
                print(f"{len(before)} workers replaced")
                return 0
            last = f"{len(left)} of the {len(before)} workers from before the reload still running"
        if time.monotonic() >= deadline:
            print(f"uWSGI's chain reload did not finish within {args.timeout} s: {last}", file=sys.stderr)
            return 1
        time.sleep(0.5)


# Text formats worth compressing; images, fonts and archives are compressed already.
COMPRESSIBLE = (".css", ".js", ".mjs", ".map", ".json", ".svg", ".txt", ".xml", ".html", ".htm",
                ".csv", ".ico", ".wasm", ".eot", ".ttf", ".otf")


def compress_static(args: argparse.Namespace) -> int:
    """Write <name>.gz next to each compressible static file that has none (nginx gzip_static)."""
    written = 0
    for directory, _, names in os.walk(args.root):
        present = set(names)
        for name in names:
            if not name.lower().endswith(COMPRESSIBLE) or name + ".gz" in present:
                continue
            path = os.path.join(directory, name)
            with open(path, "rb") as source:
                data = source.read()
            if len(data) < args.min_size:
                continue
            # mtime 0 and no name in the header: the same file always gives the same .gz.
            packed = gzip.compress(data, compresslevel=9, mtime=0)
            if len(packed) >= len(data):
                continue
            # Written beside, then renamed: nginx never sends a half-written .gz.
            temporary = f"{path}.gz.{os.getpid()}.tmp"
            with open(temporary, "wb") as target:
                target.write(packed)
            os.chmod(temporary, os.stat(path).st_mode & 0o777)
            os.replace(temporary, path + ".gz")
            written += 1
    print(f"{written} compressed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    wait = commands.add_parser("wait-db", help=wait_db.__doc__)
    wait.add_argument("--timeout", type=int, required=True)
    wait.add_argument("--interval", type=int, required=True)
    wait.set_defaults(run=wait_db)
    check = commands.add_parser("check-app", help=check_app.__doc__)
    check.add_argument("--wsgi", required=True)
    check.set_defaults(run=check_app)
    superuser = commands.add_parser("ensure-superuser", help=ensure_superuser.__doc__)
    superuser.add_argument("--username", required=True)
    superuser.add_argument("--email", required=True)
    superuser.set_defaults(run=ensure_superuser)
    site = commands.add_parser("check-site", help=check_site.__doc__)
    site.add_argument("--host", required=True)
    site.add_argument("--https", action="store_true")
    site.add_argument("--path", required=True)
    site.add_argument("--status", type=int, action="append", required=True)
    site.add_argument("--timeout", type=int, default=60)
    site.set_defaults(run=check_site)
    reload = commands.add_parser("chain-reload", help=chain_reload.__doc__.splitlines()[0])
    reload.add_argument("--trigger", required=True)
    reload.add_argument("--stats", required=True)
    reload.add_argument("--timeout", type=int, default=60)
    reload.set_defaults(run=chain_reload)
    compress = commands.add_parser("compress-static", help=compress_static.__doc__)
    compress.add_argument("--root", required=True)
    compress.add_argument("--min-size", type=int, default=256)
    compress.set_defaults(run=compress_static)
    args = parser.parse_args()
    # The project is imported from the release directory, the working directory, as uWSGI does.
    sys.path.insert(0, os.getcwd())
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
