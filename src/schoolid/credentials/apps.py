from django.apps import AppConfig


class CredentialsConfig(AppConfig):
    name = "schoolid.credentials"
    label = "credentials"
