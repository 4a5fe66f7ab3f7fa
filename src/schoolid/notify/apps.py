from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "schoolid.notify"
    label = "notify"
