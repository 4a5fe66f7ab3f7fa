"""Pages of parent self-registration (seed 001); the rules live in flows/registration.py."""
from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from schoolid.accounts import security_questions
from schoolid.core.humanize import duration_text
from schoolid.directory.services import RegisterError
from schoolid.flows import registration
from schoolid.flows.forms import NewPasswordForm
from schoolid.flows.models import Flow


def _text(label, autocomplete: str, **attrs) -> forms.CharField:
    return forms.CharField(label=label, max_length=254, widget=forms.TextInput(attrs={"autocomplete": autocomplete, "spellcheck": "false", **attrs}))


class IdentityForm(forms.Form):
    national_id = _text(gettext_lazy("ID number"), "off", inputmode="numeric", autofocus=True)
    given_name = _text(gettext_lazy("Given name"), "given-name")
    family_name = _text(gettext_lazy("Family name"), "family-name")
    # Typed day first, as the countries' own forms ask (a browser date field would show the browser's
    # order, mm/dd/yyyy in many); DD.MM.YYYY, DD/MM/YYYY or YYYY-MM-DD in any digits is read.
    birth_date = forms.CharField(label=gettext_lazy("Birth date"), max_length=32,
                                 help_text=gettext_lazy("Day, month, year: for example 23.04.1985"),
                                 widget=forms.TextInput(attrs={"autocomplete": "bday", "aria-describedby": "birth_date-hint", "spellcheck": "false"}))


class ContactForm(forms.Form):
    email = _text(gettext_lazy("E-mail"), "email", inputmode="email", autocapitalize="none")
    mobile = _text(gettext_lazy("Mobile number"), "tel", inputmode="tel")


class CodesForm(forms.Form):
    email_code = _text(gettext_lazy("The 6-digit code from the e-mail"), "one-time-code", inputmode="numeric")
    mobile_code = _text(gettext_lazy("The 6-digit code from the SMS"), "one-time-code", inputmode="numeric")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.required = False


class RegistrationPasswordForm(NewPasswordForm):
    """Seed 001 step 3: the ID number, the new password twice, and the security question only under
    the profile's legacy option (non-conformant with ASVS 6.4.2, security requirements C2)."""

    national_id = _text(gettext_lazy("Your ID number"), "off", inputmode="numeric", autofocus=True)

    def __init__(self, *args, legacy_question: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if legacy_question:
            self.fields["question"] = forms.ChoiceField(label=gettext_lazy("Security question"), choices=[("", "—"), *security_questions.QUESTIONS.items()])
            self.fields["answer"] = forms.CharField(label=gettext_lazy("Your answer"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
        self.order_fields(["national_id", "new_password", "new_password_again", "question", "answer"])

    def clean_answer(self):
        answer = self.cleaned_data.get("answer", "")
        if len(security_questions.normalize_answer(answer)) < 2:
            raise forms.ValidationError(_("Choose a question and type an answer."))
        return answer


def _enabled_or_404() -> None:
    if not registration.enabled():
        raise Http404


def _field_error(form: forms.Form, exc: RegisterError) -> None:
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _no_referrer(response):
    # Pages reached from an e-mailed link must not leak the token (FP-CS "URL Tokens").
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def identity(request):
    """Step 1: national ID, names, birth date."""
    _enabled_or_404()
    form = IdentityForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            data = registration.check_identity(**form.cleaned_data)
        except RegisterError as exc:
            _field_error(form, exc)
        else:
            if registration.starting_allowed(request):
                registration.start(request, data)
                return redirect("registration-contact")
            context = {"form": form, "age": settings.SCHOOLID_PROFILE.age_threshold, "error": _("Too many registrations were started from here. Wait an hour, then try again.")}
            response = render(request, "flows/registration_identity.html", context, status=429)
            response["Retry-After"] = str(settings.SMS_SEND_WINDOW_SECONDS)
            return response
    return render(request, "flows/registration_identity.html", {"form": form, "age": settings.SCHOOLID_PROFILE.age_threshold})


@never_cache
@require_http_methods(["GET", "POST"])
def contact(request):
    """Step 2: e-mail and mobile; a code goes to each."""
    _enabled_or_404()
    flow = registration.current_flow(request, Flow.State.STARTED, Flow.State.CODE_SENT)
    if flow is None:
        return redirect("registration-created" if registration.current_flow(request, Flow.State.LINK_SENT) else "registration")
    form = ContactForm(request.POST or None, initial={"email": flow.data.get("email", ""), "mobile": flow.data.get("mobile", "")})
    status, error = 200, None
    if request.method == "POST" and form.is_valid():
        try:
            result = registration.send_codes(request, flow, email=form.cleaned_data["email"], mobile=form.cleaned_data["mobile"])
        except RegisterError as exc:
            _field_error(form, exc)
        else:
            if result != "too_many":
                return redirect("registration-codes")
            status, error = 429, _("Too many codes were asked for. Wait an hour, then try again.")
    response = render(request, "flows/registration_contact.html", {"form": form, "error": error}, status=status)
    if status == 429:
        response["Retry-After"] = str(settings.SMS_SEND_WINDOW_SECONDS)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def codes(request):
    """Step 2, continued: the code from the e-mail and the code from the SMS."""
    _enabled_or_404()
    flow = registration.current_flow(request, Flow.State.CODE_SENT)
    if flow is None:
        # A double submit lands here after the account was made: the next page, not an error.
        return redirect("registration-created" if registration.current_flow(request, Flow.State.LINK_SENT) else "registration")
    form = CodesForm(request.POST or None)
    status, error, notice, retry_after = 200, None, None, 0
    if request.method == "POST" and request.POST.get("resend"):
        result = registration.send_codes(request, flow, email=flow.data["email"], mobile=flow.data["mobile"], resend=True)
        if result == "too_many":
            status, error, retry_after = 429, _("Too many codes were asked for. Wait an hour, then try again."), settings.SMS_SEND_WINDOW_SECONDS
        else:
            return redirect(reverse("registration-codes") + "?resent=1")
    elif request.method == "POST" and form.is_valid():
        result, wait = registration.verify_codes(request, flow, email_code=form.cleaned_data["email_code"], mobile_code=form.cleaned_data["mobile_code"])
        if result == "created":
            return redirect("registration-created")
        if result == "invalid":
            error = _("A code is not correct. Check it, or send new codes.")
        elif result == "expired":
            error = _("The code has expired: codes work for 10 minutes. Send new codes.")
        elif result == "missing":
            error = _("Type the code from the e-mail and the code from the SMS.")
        else:
            status, retry_after = 429, wait
            error = _("Too many wrong codes. Wait %(wait)s, then try again.") % {"wait": duration_text(wait)}
        flow.refresh_from_db()
    elif request.GET.get("resent"):
        notice = _("We sent new codes. Only the newest codes work.")
    context = {"form": form, "error": error, "notice": notice, "email": flow.data.get("email", ""), "mobile": flow.data.get("mobile", ""),
               "email_ok": flow.data.get("email_ok"), "mobile_ok": flow.data.get("mobile_ok")}
    response = render(request, "flows/registration_codes.html", context, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


@never_cache
@require_GET
def created(request):
    """Step 3: the same page whether an account was made, activated, or its owner told."""
    _enabled_or_404()
    flow = registration.current_flow(request, Flow.State.LINK_SENT)
    if flow is None:
        return redirect("registration")
    return render(request, "flows/registration_created.html", {"minutes": registration.link_seconds() // 60})


@never_cache
@require_http_methods(["GET", "POST"])
def password(request, token: str):
    """Step 4, from the e-mailed link: the ID number, then a password under the policy."""
    _enabled_or_404()
    link = registration.link_for(token)
    if link is None and registration.refused_link(token) is not None:
        # A refused registration: said plainly, only to whoever holds the e-mailed link.
        return _no_referrer(render(request, "flows/registration_refused.html", {}))
    if link is None:
        used = registration.link_for(token, used=True)
        if (used is not None and request.session.get(registration.SAVED_SESSION_KEY) == str(used.flow_id)
                and (timezone.now() - used.used_at).total_seconds() < 120):
            # The second click of a double submit: the details were saved by the first.
            return _no_referrer(redirect("registration-saved"))
        return _no_referrer(render(request, "flows/link_invalid.html", {"again_url": reverse("registration")}, status=410))
    account = link.flow.account
    legacy = security_questions.enabled()
    form = RegistrationPasswordForm(request.POST or None, account=account, profile=settings.SCHOOLID_PROFILE, legacy_question=legacy)
    if request.method == "POST" and form.is_valid():
        if not registration.id_matches(request, link, form.cleaned_data["national_id"]):
            form.add_error("national_id", _("This is not the ID number this account was registered with."))
        else:
            # None means a parallel submit of the same form finished first: saved either way.
            registration.finish(request, link, form.cleaned_data["new_password"], question=form.cleaned_data.get("question", ""), answer=form.cleaned_data.get("answer", ""))
            return _no_referrer(redirect("registration-saved"))
    context = {"form": form, "min_length": form.min_length, "user_code": account.display_code, "legacy": legacy}
    return _no_referrer(render(request, "flows/registration_password.html", context))


@never_cache
@require_GET
def saved(request):
    """Step 5: "Your details were saved"; an e-mail with the user code confirms it."""
    _enabled_or_404()
    account = registration.saved_account(request)
    return render(request, "flows/registration_saved.html", {"user_code": account.display_code if account else ""})
