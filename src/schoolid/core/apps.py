from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "schoolid.core"
    label = "core"

    def ready(self):
        from django.core.signals import got_request_exception, request_started

        from schoolid.core import middleware, randomness, threads

        randomness.use_for_django()
        _name_apps()
        request_started.connect(threads.close_connections_when_thread_ends, dispatch_uid="schoolid-thread-connections")
        got_request_exception.connect(middleware.note_unavailable, dispatch_uid="schoolid-unavailable")


def _name_apps() -> None:
    """The /admin/ headings in the reader's language (issue 14); set here so no app's module changes."""
    from django.apps import apps
    from django.utils.translation import gettext_lazy as _

    names = {
        "accounts": _("Accounts"), "audit": _("Audit"), "directory": _("Directory"),
        "credentials": _("Credentials"), "flows": _("Sign-in flows"), "console": _("Staff console"),
        "notify": _("Notifications"), "provisioning": _("Provisioning"), "privacy": _("Privacy"),
    }
    for label, name in names.items():
        if apps.is_installed(f"schoolid.{label}"):
            apps.get_app_config(label).verbose_name = name
