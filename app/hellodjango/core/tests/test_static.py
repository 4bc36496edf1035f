import tempfile
from io import StringIO
from pathlib import Path

from django.core.management import call_command
from django.test import SimpleTestCase, override_settings


class CollectStaticTests(SimpleTestCase):
    def test_collectstatic(self):
        with tempfile.TemporaryDirectory() as static_root:
            with override_settings(STATIC_ROOT=static_root):
                call_command("collectstatic", interactive=False, verbosity=0, stdout=StringIO())
            root = Path(static_root)
            self.assertTrue((root / "admin" / "css" / "base.css").is_file())
            self.assertEqual(
                (root / "core" / "site.css").read_bytes(),
                (
                    Path(__file__).resolve().parents[1] / "static" / "core" / "site.css"
                ).read_bytes(),
            )
