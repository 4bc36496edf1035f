"""djongo 1.3.7 (Django 3.1, pymongo 3.11.4) smoke run against a MongoDB (stand-in or real).

Run from this directory with the python of a venv holding djongo==1.3.7 Django==3.1.12
pymongo==3.11.4 sqlparse==0.2.4.  Prints one JSON document; exits non-zero on failure.
"""

import json
import os
import re
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "djongo_site.settings")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

report = {}


def check(name, condition, detail=""):
    report[name] = bool(condition)
    if not condition:
        report["failed"] = name
        report["detail"] = detail[:4000]
        print(json.dumps(report))
        sys.exit(1)


def csrf_token(response):
    match = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
    return match.group(1).decode() if match else None


call_command("migrate", verbosity=0, interactive=False)
check("migrate", True)

User.objects.create_superuser("admin", "admin@example.com", "s3cret-Passw0rd")
# (djongo cannot translate a bare boolean in WHERE, so no filter(is_superuser=True) here)
check("superuser", User.objects.get(username="admin").is_superuser)

client = Client(enforce_csrf_checks=True)
response = client.get("/admin/login/?next=/admin/")
token = csrf_token(response)
check("login_form", response.status_code == 200 and token)
response = client.post("/admin/login/?next=/admin/", {
    "username": "admin", "password": "s3cret-Passw0rd", "csrfmiddlewaretoken": token,
    "next": "/admin/"})
check("login", response.status_code == 302 and response["Location"] == "/admin/",
      "%s %s" % (response.status_code, response.content.decode()[:2000]))

response = client.get("/admin/")
check("admin_index", response.status_code == 200 and b"Recent actions" in response.content,
      response.content.decode()[:3000])

response = client.get("/admin/auth/user/")
check("user_changelist", response.status_code == 200 and b"admin@example.com" in response.content,
      response.content.decode()[:3000])

response = client.get("/admin/auth/user/?q=adm")
check("user_search", response.status_code == 200 and b"admin@example.com" in response.content,
      response.content.decode()[:3000])

print(json.dumps(report))
