from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "schoolid.core"
    label = "core"

    def ready(self):
        from django.core.signals import request_started

        from schoolid.core import randomness, threads

        randomness.use_for_django()
        request_started.connect(threads.close_connections_when_thread_ends, dispatch_uid="schoolid-thread-connections")
