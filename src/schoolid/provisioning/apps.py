from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "schoolid.provisioning"
    label = "provisioning"

    def ready(self):
        from schoolid.core.metrics import database_figures
        from schoolid.provisioning.metrics import import_figures

        database_figures(import_figures)
