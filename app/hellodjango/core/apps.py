from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "hellodjango.core"
    label = "core"
    verbose_name = "Hello Django"
