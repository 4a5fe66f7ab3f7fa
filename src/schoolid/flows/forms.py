from django import forms
from django.utils.translation import gettext_lazy as _

from schoolid.accounts.passwords import check_password_policy, context_words_for, minimum_length
from schoolid.core.profiles import Profile

IDENTIFIER_LABELS = {
    ("national_id",): _("National ID number"),
    ("national_id", "user_code"): _("National ID number or user code"),
    ("user_code", "national_id"): _("User code or ID number"),
    ("email", "user_code"): _("E-mail or user code"),
    ("email", "mobile", "user_code"): _("E-mail, mobile number or user code"),
    ("user_code", "email", "mobile"): _("Login, e-mail or mobile number"),
}


def identifier_label(profile: Profile):
    return IDENTIFIER_LABELS.get(tuple(profile.login_identifiers), _("Login"))


def password_field(label, autocomplete: str, **attrs) -> forms.CharField:
    # Never stripped or changed: the whole password is used as typed (NIST §3.1.1.2).
    return forms.CharField(
        label=label,
        strip=False,
        max_length=1024,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete, "class": "password-input", **attrs}),
    )


class SignInForm(forms.Form):
    identifier = forms.CharField(
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false", "autofocus": True}),
    )
    password = password_field(_("Password or one-time password"), "current-password")

    def __init__(self, *args, profile: Profile, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identifier"].label = identifier_label(profile)


class SlipSignInForm(forms.Form):
    """Sign-in from a slip's QR code: the account is chosen by the link, only the secret is asked."""

    password = password_field(_("One-time password from your slip"), "one-time-code", autofocus=True)


class NewPasswordForm(forms.Form):
    new_password = password_field(_("New password"), "new-password")
    new_password_again = password_field(_("New password again"), "new-password")

    def __init__(self, *args, account, profile: Profile, **kwargs):
        super().__init__(*args, **kwargs)
        self.account, self.profile = account, profile
        self.min_length = minimum_length(account._active_roles(), profile)

    def clean(self):
        data = super().clean()
        first, second = data.get("new_password"), data.get("new_password_again")
        if first is None or second is None:
            return data
        if first != second:
            self.add_error("new_password_again", _("The two passwords are not the same."))
            return data
        for problem in check_password_policy(first, roles=self.account._active_roles(), context_words=context_words_for(self.account), profile=self.profile):
            self.add_error("new_password", problem.message)
        return data


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from your authenticator app, or a recovery code"),
        max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True, "spellcheck": "false"}),
    )


class EnrolForm(forms.Form):
    code = forms.CharField(
        label=_("6-digit code from your authenticator app"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class ChangePasswordForm(NewPasswordForm):
    current_password = password_field(_("Current password"), "current-password")
    end_other_sessions = forms.BooleanField(label=_("Sign me out everywhere else"), required=False, initial=True)

    field_order = ["current_password", "new_password", "new_password_again", "end_other_sessions"]


class SmsStartForm(forms.Form):
    national_id = forms.CharField(
        label=_("ID number"), max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "username", "inputmode": "numeric", "autofocus": True, "spellcheck": "false"}),
    )


class SmsCodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code from the SMS"), max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class ActivationStartForm(forms.Form):
    identifier = forms.CharField(
        label=_("National ID number, or e-mail if you have activated before"), max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True, "spellcheck": "false"}),
    )


class RecoveryStartForm(forms.Form):
    need = forms.ChoiceField(
        label=_("What do you need?"), widget=forms.RadioSelect, initial="password",
        choices=[("login", _("My login")), ("password", _("A new password")), ("both", _("Both"))],
    )
    identifier = forms.CharField(
        label=_("Your e-mail, mobile number, national ID number or login"), max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "username", "spellcheck": "false"}),
    )


class RecoveryCodeForm(forms.Form):
    code = forms.CharField(
        label=_("The 6-digit code from the SMS"), max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(label=_("New e-mail"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    password = password_field(_("Your password, to confirm it is you"), "current-password")
    second_factor = forms.CharField(label=_("Code from your authenticator app, or a recovery code"), max_length=32, required=False,
                                    widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"}))


class PhoneChangeForm(forms.Form):
    new_mobile = forms.CharField(label=_("New mobile number"), max_length=40, widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))
    password = password_field(_("Your password, to confirm it is you"), "current-password")
    second_factor = forms.CharField(label=_("Code from your authenticator app, or a recovery code"), max_length=32, required=False,
                                    widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"}))
