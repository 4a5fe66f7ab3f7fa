from django.apps import AppConfig


class ProviderConfig(AppConfig):
    name = "schoolid.provider"
    label = "provider"

    def ready(self):
        from schoolid.provider import signals  # noqa: F401 - sign-out starts back-channel logout
