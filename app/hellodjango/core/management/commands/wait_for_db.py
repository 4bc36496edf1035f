import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from pymongo.errors import ConfigurationError, PyMongoError

from hellodjango.core.mongo import (
    client_settings,
    database_name,
    describe_error,
    describe_target,
    new_client,
)


class Command(BaseCommand):
    help = (
        "Wait until MongoDB accepts authenticated commands on the configured "
        "database (the dotCloud postinstall's 'waitfordb'). Every INTERVAL "
        "seconds it lists the database's collections with the configured "
        "credentials and prints a one-line reason for each failed attempt on "
        "stderr. On success it prints 'MongoDB at HOSTS/DB is ready' on stdout "
        "and exits 0; once TIMEOUT seconds have passed it exits 1 with a "
        "message naming the hosts (never the password). An attempt itself "
        "lasts at most the client's server selection timeout."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--timeout",
            type=float,
            default=600,
            help="Give up after this many seconds (default: 600).",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=10,
            help="Seconds between attempts (default: 10).",
        )
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help='Database alias whose NAME to check (default: "default").',
        )

    def handle(self, *args, timeout, interval, database, **options):
        if timeout < 0:
            raise CommandError("--timeout must not be negative.")
        if interval <= 0:
            raise CommandError("--interval must be positive.")
        kwargs = client_settings()
        name = database_name(database)
        target = describe_target(database, kwargs)
        deadline = time.monotonic() + timeout
        try:
            client = new_client(kwargs)
        except ConfigurationError as exc:
            raise self.invalid_configuration(target, exc, kwargs) from exc
        try:
            attempt = 0
            while True:
                attempt += 1
                try:
                    # listCollections needs an authenticated user with
                    # privileges on this database, unlike ping.
                    client[name].list_collection_names()
                except ConfigurationError as exc:
                    raise self.invalid_configuration(target, exc, kwargs) from exc
                except PyMongoError as exc:
                    self.stderr.write(
                        f"Attempt {attempt}: MongoDB at {target} is not ready: "
                        f"{describe_error(exc, kwargs)}"
                    )
                else:
                    self.stdout.write(f"MongoDB at {target} is ready (attempt {attempt}).")
                    return
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise CommandError(
                        f"MongoDB at {target} was not ready within {timeout:g} "
                        f"seconds ({attempt} attempt{'s' if attempt != 1 else ''})."
                    )
                time.sleep(min(interval, remaining))
        finally:
            client.close()

    @staticmethod
    def invalid_configuration(target, exc, kwargs):
        # A broken connection string or client option will not fix itself.
        return CommandError(
            f"Invalid MongoDB configuration for {target}: {describe_error(exc, kwargs)}"
        )
