"""App configs that give Django's contrib apps ObjectId primary keys.

This follows django-mongodb-backend's project template: the contrib apps get
default_auto_field = ObjectIdAutoField, and their migrations (generated with
`manage.py makemigrations admin auth contenttypes`) live in mongo_migrations/.
"""

from django.contrib.admin.apps import AdminConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig


class MongoAdminConfig(AdminConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"


class MongoAuthConfig(AuthConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = "django_mongodb_backend.fields.ObjectIdAutoField"
