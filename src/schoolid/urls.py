from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from schoolid.accounts import views as account_views
from schoolid.api import api
from schoolid.core.metrics import metrics_view
from schoolid.flows import views as flow_views
from schoolid.flows import registration_views
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
    path("", account_views.home, name="home"),
    path("signin/", flow_views.signin, name="signin"),
    path("signin/slip/<str:token>/", flow_views.signin_slip, name="signin-slip"),
    path("signin/sms/", flow_views.sms_signin, name="signin-sms"),
    path("signin/sms/code/", flow_views.sms_code, name="signin-sms-code"),
    path("signin/new-password/", flow_views.new_password, name="signin-new-password"),
    path("signin/second-factor/", flow_views.second_factor, name="signin-second-factor"),
    path("signin/second-factor/setup/", flow_views.enrol, name="signin-enrol"),
    path("signin/second-factor/recovery-codes/", flow_views.recovery_codes, name="signin-recovery-codes"),
    path("signout/", flow_views.signout, name="signout"),
    path("help/", flow_views.who_can_help, name="who-can-help"),
    path("access/", flow_views.access_request, name="access-request"),
    path("recover/", flow_views.recovery_start, name="recovery"),
    path("recover/sent/", flow_views.recovery_sent, name="recovery-sent"),
    path("recover/link/<str:token>/", flow_views.recovery_link, name="recovery-link"),
    path("recover/finish/", flow_views.recovery_finish, name="recovery-finish"),
    path("recover/question/", flow_views.recovery_question, name="recovery-question"),
    path("account/security-question/", account_views.security_question, name="security-question"),
    path("register/", registration_views.identity, name="registration"),
    path("register/contact/", registration_views.contact, name="registration-contact"),
    path("register/codes/", registration_views.codes, name="registration-codes"),
    path("register/created/", registration_views.created, name="registration-created"),
    path("register/password/<str:token>/", registration_views.password, name="registration-password"),
    path("register/saved/", registration_views.saved, name="registration-saved"),
    path("activate/", flow_views.activation_start, name="activation"),
    path("activate/sent/", flow_views.activation_sent, name="activation-sent"),
    path("activate/<str:token>/", flow_views.activation_link, name="activation-link"),
    path("account/", account_views.account, name="account"),
    path("account/password/", account_views.change_password, name="change-password"),
    path("account/sessions/end/", account_views.end_sessions, name="end-sessions"),
    path("account/password/check/", account_views.check_new_password, name="check-new-password"),
    path("account/family/", account_views.family, name="family"),
    path("account/family/<str:user_code>/reset/", account_views.family_reset, name="family-reset"),
    path("account/family/issued/<uuid:batch_id>/", account_views.family_issued, name="family-issued"),
    path("account/email/", account_views.change_email, name="change-email"),
    path("account/email/confirm/<str:token>/", account_views.confirm_email, name="confirm-email"),
    path("account/phone/", account_views.change_phone, name="change-phone"),
    path("account/phone/code/", account_views.change_phone_code, name="change-phone-code"),
    path("", include("schoolid.privacy.urls")),  # /account/export/, a child's and a person's export
    path("console/", include("schoolid.console.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    # Operators sign in through the same throttled, audited page as everyone else.
    path("admin/login/", RedirectView.as_view(pattern_name="signin", query_string=True)),
    path("admin/logout/", flow_views.signout),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("scim/v2/", include("schoolid.provisioning.scim.urls")),
    path("dev/outbox", dev_outbox, name="dev-outbox"),
    path("metrics", metrics_view, name="metrics"),
]

handler400 = "schoolid.core.problems.handler400"
handler404 = "schoolid.core.problems.handler404"
handler500 = "schoolid.core.problems.handler500"
