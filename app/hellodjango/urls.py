from django.contrib import admin
from django.urls import path

from hellodjango.core import views

urlpatterns = [
    path("", views.index, name="index"),
    path("healthz", views.healthz, name="healthz"),
    path("healthz/live", views.healthz_live, name="healthz-live"),
    path("admin/", admin.site.urls),
]
