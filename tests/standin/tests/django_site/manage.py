#!/usr/bin/env python
"""manage.py of the throwaway smoke-test project (used to generate mongo_migrations/)."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "standin_site.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
