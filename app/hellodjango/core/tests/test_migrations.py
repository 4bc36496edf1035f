from io import StringIO

from django.core.management import call_command
from django.test import TestCase


class MigrationTests(TestCase):
    def test_no_missing_migrations(self):
        """
        The migrations in use (mongo_migrations/ for django-mongodb-backend,
        Django's own for djongo) match the installed models.
        """
        stdout = StringIO()
        try:
            call_command(
                "makemigrations", "--check", "--dry-run", stdout=stdout, stderr=StringIO()
            )
        except SystemExit:
            self.fail(f"Models have changes without migrations:\n{stdout.getvalue()}")
        self.assertIn("No changes detected", stdout.getvalue())
