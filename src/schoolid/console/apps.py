from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "schoolid.console"
    label = "console"
