from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "schoolid.core"
    label = "core"
