from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "schoolid.core"
    label = "core"

    def ready(self):
        from schoolid.core import randomness

        randomness.use_for_django()
