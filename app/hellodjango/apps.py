"""
AppConfigs for django.contrib apps under django-mongodb-backend.

Django's contrib AppConfigs set default_auto_field to AutoField, which
MongoDB cannot generate; these subclasses switch them to ObjectIdAutoField.
settings.py installs them only when DJANGO_DB_CONNECTOR is
django_mongodb_backend (Django 3.1, used with djongo, has no
default_auto_field at all).
"""

from django.contrib.admin.apps import AdminConfig
from django.contrib.auth.apps import AuthConfig
from django.contrib.contenttypes.apps import ContentTypesConfig

OBJECT_ID_AUTO_FIELD = "django_mongodb_backend.fields.ObjectIdAutoField"


class MongoAdminConfig(AdminConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoAuthConfig(AuthConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD


class MongoContentTypesConfig(ContentTypesConfig):
    default_auto_field = OBJECT_ID_AUTO_FIELD
