from django.apps import AppConfig


class ProvisioningConfig(AppConfig):
    name = "schoolid.provisioning"
    label = "provisioning"
