from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from schoolid.api import api
from schoolid.core.metrics import metrics_view
from schoolid.demo import views as demo_views
from schoolid.flows import views as flow_views
from schoolid.flows.login import passed_second_factor
from schoolid.notify.views import dev_outbox

admin.site.site_header = "SchoolID"
admin.site.site_title = "SchoolID"
_admin_has_permission = admin.site.has_permission


def _operator_with_second_factor(request) -> bool:
    # Operators are staff too: /admin/ opens only after the second factor (ASVS v5 6.3.3).
    return _admin_has_permission(request) and passed_second_factor(request)


admin.site.has_permission = _operator_with_second_factor

urlpatterns = [
    path("", include("schoolid.flows.urls")),
    path("", include("schoolid.families.urls")),
    path("", include("schoolid.privacy.urls")),
    path("", include("schoolid.provider.urls")),  # /.well-known/openid-configuration, /oidc/…, /account/apps/
    path("", include("schoolid.federation.urls")),  # /signin/national/…, /dev/idp/ (embedded demo)
    path("console/", include("schoolid.console.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Operators sign in through the same throttled, audited page as everyone else.
    path("admin/login/", RedirectView.as_view(pattern_name="signin", query_string=True)),
    path("admin/logout/", flow_views.signout),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("scim/v2/", include("schoolid.provisioning.scim.urls")),
    path("dev/outbox", dev_outbox, name="dev-outbox"),
    # Demo only (embedded, loopback): a sample application signing in with SchoolID's OpenID Provider.
    path("dev/app/", demo_views.app, name="dev-app"),
    path("dev/app/start", demo_views.start, name="dev-app-start"),
    path("dev/app/callback", demo_views.callback, name="dev-app-callback"),
    path("metrics", metrics_view, name="metrics"),
]

if not settings.PRODUCTION:
    # The stand-in national identity provider (issue 16): embedded mode only.
    urlpatterns.append(path("dev/idp/", include("schoolid.federation.standin_urls")))

handler400 = "schoolid.core.problems.handler400"
handler404 = "schoolid.core.problems.handler404"
handler500 = "schoolid.core.problems.handler500"
