from django.conf import settings
from django.utils.translation import gettext_lazy as _

# Country names as people read them in their own language.
COUNTRY_NAMES = {"IR": _("Iran"), "IL": _("Israel"), "PL": _("Poland"), "BD": _("Bangladesh"), "RU": _("Russia")}


def schoolid(request):
    profile = settings.SCHOOLID_PROFILE
    return {"profile": profile, "country_name": COUNTRY_NAMES.get(profile.country, profile.name), "demo_mode": not settings.PRODUCTION}
