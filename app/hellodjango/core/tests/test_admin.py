"""The Django admin end to end, on whichever MongoDB connector is configured."""

import re

from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.test import Client, TestCase

User = get_user_model()

CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(response):
    match = CSRF_INPUT.search(response.content.decode())
    if match is None:
        raise AssertionError("The page has no CSRF token field.")
    return match[1]


class AdminTestCase(TestCase):
    password = "admin-Passw0rd"

    def setUp(self):
        self.admin = User.objects.create_superuser("admin", "admin@example.com", self.password)
        self.client = Client(enforce_csrf_checks=True)


class AdminLoginTests(AdminTestCase):
    def test_login_with_csrf_token(self):
        response = self.client.get("/admin/login/?next=/admin/")
        self.assertEqual(response.status_code, 200)
        self.assertIn("csrftoken", response.cookies)
        response = self.client.post(
            "/admin/login/?next=/admin/",
            {
                "csrfmiddlewaretoken": csrf_token(response),
                "username": "admin",
                "password": self.password,
                "next": "/admin/",
            },
        )
        self.assertRedirects(response, "/admin/", fetch_redirect_response=False)
        response = self.client.get("/admin/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Site administration")
        self.assertEqual(response.context["user"], self.admin)

    def test_login_without_csrf_token_is_forbidden(self):
        self.client.get("/admin/login/")
        response = self.client.post(
            "/admin/login/", {"username": "admin", "password": self.password}
        )
        self.assertEqual(response.status_code, 403)
        self.assertEqual(self.client.get("/admin/").status_code, 302)

    def test_wrong_password(self):
        response = self.client.get("/admin/login/")
        response = self.client.post(
            "/admin/login/",
            {
                "csrfmiddlewaretoken": csrf_token(response),
                "username": "admin",
                "password": "wrong",
            },
        )
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Please enter the correct username and password")

    def test_anonymous_redirected_to_login(self):
        response = self.client.get("/admin/")
        self.assertRedirects(response, "/admin/login/?next=/admin/", fetch_redirect_response=False)


class AdminPagesTests(AdminTestCase):
    def setUp(self):
        super().setUp()
        self.client.force_login(self.admin)

    def add_group(self, name, permissions=()):
        response = self.client.get("/admin/auth/group/add/")
        self.assertEqual(response.status_code, 200)
        data = {"csrfmiddlewaretoken": csrf_token(response), "name": name}
        if permissions:
            data["permissions"] = [str(permission.pk) for permission in permissions]
        return self.client.post("/admin/auth/group/add/", data)

    def test_add_group(self):
        permission = Permission.objects.get(codename="view_user")
        response = self.add_group("Editors", [permission])
        self.assertRedirects(response, "/admin/auth/group/", fetch_redirect_response=False)
        group = Group.objects.get(name="Editors")
        self.assertEqual(list(group.permissions.all()), [permission])
        entry = LogEntry.objects.get()
        self.assertEqual(entry.action_flag, ADDITION)
        self.assertEqual(entry.user, self.admin)
        self.assertEqual(entry.object_repr, "Editors")
        response = self.client.get("/admin/auth/group/")
        self.assertContains(response, ">Editors</a>")

    def test_add_group_rejects_duplicate_name(self):
        Group.objects.create(name="Editors")
        response = self.add_group("Editors")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, "Group with this Name already exists.")
        self.assertEqual(Group.objects.filter(name="Editors").count(), 1)

    def test_index_recent_actions(self):
        response = self.client.get("/admin/")
        self.assertContains(response, "None available")
        self.add_group("Reviewers")
        response = self.client.get("/admin/")
        self.assertEqual(response.status_code, 200)
        self.assertNotContains(response, "None available")
        self.assertContains(response, "Recent actions")
        group = Group.objects.get(name="Reviewers")
        self.assertContains(response, f'href="/admin/auth/group/{group.pk}/change/"')
        self.assertContains(response, "Reviewers")

    def test_user_changelist(self):
        User.objects.create_user("alice", "alice@example.com", "alice-Passw0rd")
        User.objects.create_user("bob", "bob@example.com", "bob-Passw0rd")
        response = self.client.get("/admin/auth/user/")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(
            sorted(user.username for user in response.context["cl"].result_list),
            ["admin", "alice", "bob"],
        )
        self.assertContains(response, "3 users")
        response = self.client.get("/admin/auth/user/", {"q": "ALI"})
        self.assertEqual([user.username for user in response.context["cl"].result_list], ["alice"])

    def test_user_change_form(self):
        response = self.client.get(f"/admin/auth/user/{self.admin.pk}/change/")
        self.assertEqual(response.status_code, 200)
        self.assertContains(response, 'value="admin@example.com"')
