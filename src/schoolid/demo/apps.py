from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo country builder and `schoolid demo`: above every app it fills, below none."""

    name = "schoolid.demo"
    label = "demo"
