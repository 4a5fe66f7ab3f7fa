from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    name = "schoolid.privacy"
    label = "privacy"
    verbose_name = _("Privacy")

    def ready(self):
        from django.db.models.signals import post_save

        from schoolid.directory.models import Person
        from schoolid.privacy.services import recognise_on_save

        # A person saved one by one (registration, console, SCIM) is checked against the erased at
        # once; bulk imports are checked by the retention job (services.recognise_returning).
        post_save.connect(recognise_on_save, sender=Person, dispatch_uid="privacy.recognise_on_save")
