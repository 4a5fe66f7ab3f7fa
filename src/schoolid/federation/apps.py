from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FederationConfig(AppConfig):
    name = "schoolid.federation"
    label = "federation"
    verbose_name = _("National sign-in")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from schoolid.core import signout
        from schoolid.federation.services import provider_logout_url

        signout.register(provider_logout_url)
