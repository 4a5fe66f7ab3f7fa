"""The journeys' pages: sign-in, self-service and the account settings (URLs and names unchanged)."""
from django.urls import path

from schoolid.flows import registration_views, settings_views
from schoolid.flows import views as flow_views

urlpatterns = [
    path("", settings_views.home, name="home"),
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
    path("account/security-question/", settings_views.security_question, name="security-question"),
    path("register/", registration_views.identity, name="registration"),
    path("register/contact/", registration_views.contact, name="registration-contact"),
    path("register/codes/", registration_views.codes, name="registration-codes"),
    path("register/created/", registration_views.created, name="registration-created"),
    path("register/password/<str:token>/", registration_views.password, name="registration-password"),
    path("register/saved/", registration_views.saved, name="registration-saved"),
    path("activate/", flow_views.activation_start, name="activation"),
    path("activate/sent/", flow_views.activation_sent, name="activation-sent"),
    path("activate/<str:token>/", flow_views.activation_link, name="activation-link"),
    path("account/", settings_views.account, name="account"),
    path("account/password/", settings_views.change_password, name="change-password"),
    path("account/sessions/end/", settings_views.end_sessions, name="end-sessions"),
    path("account/password/check/", settings_views.check_new_password, name="check-new-password"),
    path("account/email/", settings_views.change_email, name="change-email"),
    path("account/email/confirm/<str:token>/", settings_views.confirm_email, name="confirm-email"),
    path("account/phone/", settings_views.change_phone, name="change-phone"),
    path("account/phone/code/", settings_views.change_phone_code, name="change-phone-code"),
]
