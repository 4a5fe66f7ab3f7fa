from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "schoolid.core"
    label = "core"

    def ready(self):
        from django.core.signals import got_request_exception, request_started

        from schoolid.core import middleware, randomness, threads

        randomness.use_for_django()
        request_started.connect(threads.close_connections_when_thread_ends, dispatch_uid="schoolid-thread-connections")
        got_request_exception.connect(middleware.note_unavailable, dispatch_uid="schoolid-unavailable")
