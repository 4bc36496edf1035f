import os

from django.contrib.auth import get_user_model
from django.core import exceptions
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, IntegrityError

PASSWORD_VARIABLE = "DJANGO_SUPERUSER_PASSWORD"


class Command(BaseCommand):
    help = (
        "Create a superuser unless a user with this username exists "
        "(get-or-create). The password is read from the "
        f"{PASSWORD_VARIABLE} environment variable, which must be set and "
        "non-empty. An existing user is never modified, so a password that an "
        "administrator changed is kept. Output, one line on stdout: "
        "\"Created superuser '<username>'.\" when the user was created, or "
        "\"Superuser '<username>' already exists; nothing changed.\" when it "
        "was there already. Exits 1 (changing nothing) if the user exists but "
        "is not a superuser."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True, help="The superuser's username.")
        parser.add_argument("--email", required=True, help="The superuser's email address.")
        parser.add_argument(
            "--database",
            default=DEFAULT_DB_ALIAS,
            help='Database alias to use (default: "default").',
        )

    def handle(self, *args, username, email, database, **options):
        password = os.environ.get(PASSWORD_VARIABLE, "")
        if not password.strip():
            raise CommandError(
                f"The environment variable {PASSWORD_VARIABLE} must hold the "
                "superuser's password; it is unset or empty."
            )
        UserModel = get_user_model()
        manager = UserModel._default_manager.db_manager(database)
        username_field = UserModel._meta.get_field(UserModel.USERNAME_FIELD)
        try:
            username = username_field.clean(username, None)
            email = UserModel._meta.get_field("email").clean(email, None)
        except exceptions.ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc

        user = self._get_user(manager, username)
        if user is None:
            try:
                manager.create_superuser(
                    **{UserModel.USERNAME_FIELD: username},
                    email=email,
                    password=password,
                )
            except IntegrityError:
                # Another process created the user since the lookup above.
                user = self._get_user(manager, username)
                if user is None:
                    raise
            else:
                self.stdout.write(f"Created superuser '{username}'.")
                return
        if not user.is_superuser:
            raise CommandError(
                f"User '{username}' exists but is not a superuser; refusing to change it."
            )
        self.stdout.write(f"Superuser '{username}' already exists; nothing changed.")

    @staticmethod
    def _get_user(manager, username):
        try:
            return manager.get_by_natural_key(username)
        except manager.model.DoesNotExist:
            return None
