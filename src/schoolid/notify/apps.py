from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "schoolid.notify"
    label = "notify"

    def ready(self):
        from schoolid.core.metrics import database_figures
        from schoolid.notify.metrics import outbox_figures

        database_figures(outbox_figures)
