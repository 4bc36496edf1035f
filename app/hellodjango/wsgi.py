"""
WSGI entry point, served by uWSGI as ``hellodjango.wsgi:application``.

The uWSGI unit sets DJANGO_ENV_FILE; see README.md.
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hellodjango.settings")

application = get_wsgi_application()
