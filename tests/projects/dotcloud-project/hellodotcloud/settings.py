# Django settings for hellodotcloud, a dotCloud-era project: like the dotCloud tutorial's
# settings.py, it reads ~/environment.json and connects to DOTCLOUD_DB_MONGODB_URL (with a current
# MongoDB connector, django-mongodb-backend, in place of django_mongodb_engine).

import json
import os

with open(os.path.expanduser('~/environment.json')) as f:
  env = json.load(f)

DEBUG = env['DJANGO_DEBUG']

DATABASES = {
    'default': {
        'ENGINE': 'django_mongodb_backend',
        # The database the URL names (the tutorial used 'admin').
        'NAME': env['DOTCLOUD_DB_MONGODB_URL'].rsplit('/', 1)[1].split('?')[0],
        'HOST': env['DOTCLOUD_DB_MONGODB_URL'],
    }
}

SECRET_KEY = env['DJANGO_SECRET_KEY']
ALLOWED_HOSTS = env['DJANGO_ALLOWED_HOSTS']
CSRF_TRUSTED_ORIGINS = env['DJANGO_CSRF_TRUSTED_ORIGINS']

TIME_ZONE = 'UTC'
LANGUAGE_CODE = 'en-us'
USE_I18N = True
USE_TZ = True

MEDIA_ROOT = env['DJANGO_MEDIA_ROOT']
MEDIA_URL = env['DJANGO_MEDIA_URL']
STATIC_ROOT = env['DJANGO_STATIC_ROOT']
STATIC_URL = env['DJANGO_STATIC_URL']

MIDDLEWARE = [
    'django.middleware.security.SecurityMiddleware',
    'django.contrib.sessions.middleware.SessionMiddleware',
    'django.middleware.common.CommonMiddleware',
    'django.middleware.csrf.CsrfViewMiddleware',
    'django.contrib.auth.middleware.AuthenticationMiddleware',
    'django.contrib.messages.middleware.MessageMiddleware',
    'django.middleware.clickjacking.XFrameOptionsMiddleware',
]

ROOT_URLCONF = 'hellodotcloud.urls'
WSGI_APPLICATION = 'hellodotcloud.wsgi.application'

TEMPLATES = [
    {
        'BACKEND': 'django.template.backends.django.DjangoTemplates',
        'APP_DIRS': True,
        'OPTIONS': {
            'context_processors': [
                'django.template.context_processors.request',
                'django.contrib.auth.context_processors.auth',
                'django.contrib.messages.context_processors.messages',
            ],
        },
    },
]

INSTALLED_APPS = [
    'hellodotcloud.apps.MongoAdminConfig',
    'hellodotcloud.apps.MongoAuthConfig',
    'hellodotcloud.apps.MongoContentTypesConfig',
    'django.contrib.sessions',
    'django.contrib.messages',
    'django.contrib.staticfiles',
]

DEFAULT_AUTO_FIELD = 'django_mongodb_backend.fields.ObjectIdAutoField'
MIGRATION_MODULES = {
    'admin': 'mongo_migrations.admin',
    'auth': 'mongo_migrations.auth',
    'contenttypes': 'mongo_migrations.contenttypes',
}

# Served over HTTPS behind nginx in staging and production.
if env['DJANGO_HTTPS']:
    SECURE_PROXY_SSL_HEADER = ('HTTP_X_FORWARDED_PROTO', 'https')
    SECURE_SSL_REDIRECT = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env['DJANGO_HSTS_SECONDS']
SECURE_HSTS_INCLUDE_SUBDOMAINS = env['DJANGO_HSTS_INCLUDE_SUBDOMAINS']
SECURE_HSTS_PRELOAD = env['DJANGO_HSTS_PRELOAD']
SILENCED_SYSTEM_CHECKS = env['DJANGO_SILENCED_SYSTEM_CHECKS']
