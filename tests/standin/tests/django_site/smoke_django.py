"""Django 5.2 + django-mongodb-backend smoke run against a MongoDB (stand-in or real).

Run with the python of a venv holding Django 5.2.x and django-mongodb-backend 5.2.x,
from this directory, with STANDIN_MONGODB_URI / STANDIN_DB_NAME set.  Prints one JSON
document with what it checked; exits non-zero on the first failed check.
"""

import json
import os
import re
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "standin_site.settings")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import Group, User  # noqa: E402
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
check("superuser", User.objects.filter(username="admin", is_superuser=True).count() == 1)

client = Client(enforce_csrf_checks=True)
response = client.get("/admin/login/?next=/admin/")
token = csrf_token(response)
check("login_form", response.status_code == 200 and token, response.content.decode()[:2000])

response = client.post("/admin/login/?next=/admin/", {
    "username": "admin", "password": "wrong", "csrfmiddlewaretoken": token, "next": "/admin/"})
check("login_wrong_password_refused", response.status_code == 200
      and b"Please enter the correct username and password" in response.content)

token = csrf_token(response)
response = client.post("/admin/login/?next=/admin/", {
    "username": "admin", "password": "s3cret-Passw0rd", "csrfmiddlewaretoken": token,
    "next": "/admin/"})
check("login", response.status_code == 302 and response["Location"] == "/admin/",
      "%s %s" % (response.status_code, response.content.decode()[:2000]))

response = client.get("/admin/")
check("admin_index", response.status_code == 200 and b"Recent actions" in response.content,
      response.content.decode()[:3000])

response = client.get("/admin/auth/user/")
check("user_changelist", response.status_code == 200 and b"admin@example.com" in response.content
      and b"1 user" in response.content, response.content.decode()[:3000])

response = client.get("/admin/auth/group/add/")
token = csrf_token(response)
check("group_add_form", response.status_code == 200 and token)
response = client.post("/admin/auth/group/add/", {
    "name": "editors", "csrfmiddlewaretoken": token, "_save": "Save"})
check("group_add_post", response.status_code == 302,
      "%s %s" % (response.status_code, response.content.decode()[:3000]))
check("group_exists", Group.objects.filter(name="editors").exists())

response = client.get("/admin/")
check("recent_actions_lists_group", response.status_code == 200 and b"editors" in response.content,
      response.content.decode()[:3000])

response = client.get("/admin/auth/group/?q=edit")
check("group_search", response.status_code == 200 and b"editors" in response.content)

response = client.post("/admin/logout/", {"csrfmiddlewaretoken": client.cookies["csrftoken"].value})
check("logout", response.status_code == 200)

print(json.dumps(report))
