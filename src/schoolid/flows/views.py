import functools

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from schoolid.core import signout as signout_hooks
from schoolid.core.humanize import duration_text
from schoolid.credentials import totp
from schoolid.credentials.services import secret_for_link
from schoolid.flows import activation, recovery
from schoolid.flows import login as flow
from schoolid.flows import sms_signin as sms_flow
from schoolid.flows.forms import (
    ActivationStartForm,
    CodeForm,
    EnrolForm,
    NewPasswordForm,
    RecoveryCodeForm,
    RecoveryStartForm,
    SignInForm,
    SlipSignInForm,
    SmsCodeForm,
    SmsStartForm,
)

NEXT_KEY = "signin_next"


def _safe_next(request, candidate: str) -> str:
    # Never forward to another site (RFC 9700 §2.1, ASVS v5 10.2.2).
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return candidate
    return ""


def _error_text(outcome) -> tuple[str, int]:
    if outcome.kind == "throttled":
        return _("Too many failed sign-in attempts. Wait %(wait)s, then try again.") % {"wait": duration_text(outcome.retry_after)}, 429
    if outcome.kind == "locked":
        return _("Password sign-in is blocked after too many failed attempts. Recover your access to unblock it, or ask your school for help."), 403
    # One answer for an unknown account and a wrong password.
    return _("The sign-in details are not correct. Check them and try again."), 200


def _after(request, outcome):
    """Where a successful step leads."""
    if outcome.kind == "next_step":
        return redirect(flow.STEP_URLS[outcome.step])
    return HttpResponseRedirect(request.session.pop(NEXT_KEY, "") or reverse("account"))


def _too_many(request, template: str, context: dict, message) -> HttpResponse:
    """Sending was asked for too often: 429 with Retry-After, the same for every identifier."""
    response = render(request, template, {**context, "error": message}, status=429)
    response["Retry-After"] = str(settings.SMS_SEND_WINDOW_SECONDS)
    return response


def pending_step(step: str):
    """A step of a started sign-in; without one (or once expired) the browser goes back to sign-in."""

    def decorator(view):
        @functools.wraps(view)
        @never_cache
        @require_http_methods(["GET", "POST"])
        def wrapper(request):
            pending = flow.pending_flow(request, step)
            if pending is None:
                return redirect("signin")
            state, account = pending
            return view(request, state, account)

        return wrapper

    return decorator


def _render(request, template, context, outcome=None, status=200):
    error = None
    if outcome is not None and outcome.kind not in ("ok", "next_step"):
        error, status = _error_text(outcome)
    response = render(request, template, {**context, "error": context.get("error") or error}, status=status)
    if outcome is not None and outcome.retry_after:
        response["Retry-After"] = str(outcome.retry_after)
    return response


# The sign-in page is the busiest page and its HTML is the same for every visitor in a language, but
# for the CSRF token. It is rendered once per language with a placeholder, and each request puts its
# own token in; a page with a query string (next, notices) is rendered in full.
_TOKEN_PLACEHOLDER = "csrf-token-placeholder-4f1c"
_signin_pages: dict[tuple[str, str], str] = {}


def _plain_signin_page(request) -> HttpResponse:
    # The version moves when national sign-in providers change (their buttons are on this page).
    key = (get_language(), settings.SCHOOLID_PROFILE.code, cache.get("signin-page-version", 0))
    page = _signin_pages.get(key)
    if page is None or settings.DEBUG:
        form = SignInForm(profile=settings.SCHOOLID_PROFILE)
        page = render_to_string("flows/signin.html", {"form": form, "csrf_token": _TOKEN_PLACEHOLDER, "next": "", "error": None}, request)
        _signin_pages[key] = page
    return HttpResponse(page.replace(_TOKEN_PLACEHOLDER, get_token(request)))


@never_cache
@require_http_methods(["GET", "POST"])
def signin(request):
    if request.user.is_authenticated and request.method == "GET":
        return redirect("account")
    if request.method == "GET" and not request.GET:
        return _plain_signin_page(request)
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next", ""))
    form = SignInForm(request.POST or None, profile=settings.SCHOOLID_PROFILE)
    context = {
        "form": form,
        "next": next_url,
        "expired": request.GET.get("expired") == "1",
        "signed_out": request.GET.get("signed_out") == "1",
    }
    if request.method == "POST":
        if not form.is_valid():
            return _render(request, "flows/signin.html", {**context, "error": _("Enter both your login and your password.")})
        outcome = flow.sign_in_with_password(request, form.cleaned_data["identifier"], form.cleaned_data["password"])
        if outcome.kind in ("ok", "next_step"):
            request.session[NEXT_KEY] = next_url
            return _after(request, outcome)
        return _render(request, "flows/signin.html", context, outcome)
    return _render(request, "flows/signin.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def signin_slip(request, token: str):
    """The QR code on a slip: the account is chosen, the one-time secret is asked for."""
    secret = secret_for_link(token)
    if secret is None:
        return render(request, "flows/slip_invalid.html", status=404)
    form = SlipSignInForm(request.POST or None)
    context = {"form": form, "person": secret.account.person, "account": secret.account}
    if request.method == "POST" and form.is_valid():
        outcome = flow.sign_in_with_password(request, "", form.cleaned_data["password"], account=secret.account, via_link=secret)
        if outcome.kind in ("ok", "next_step"):
            return _after(request, outcome)
        return _render(request, "flows/signin_slip.html", context, outcome)
    return _render(request, "flows/signin_slip.html", context)


@pending_step(flow.NEW_PASSWORD)
def new_password(request, state, account):
    form = NewPasswordForm(request.POST or None, account=account, profile=settings.SCHOOLID_PROFILE)
    if request.method == "POST" and form.is_valid():
        return _after(request, flow.choose_new_password(request, state, account, form.cleaned_data["new_password"]))
    return render(request, "flows/new_password.html", {"form": form, "account": account, "min_length": form.min_length})


@pending_step(flow.SECOND_FACTOR)
def second_factor(request, state, account):
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        outcome = flow.check_second_factor(request, state, account, form.cleaned_data["code"])
        if outcome.kind == "ok":
            return _after(request, outcome)
        message = _("The code is not correct. Check it and try again.") if outcome.kind == "invalid" else None
        return _render(request, "flows/second_factor.html", {"form": form, "error": message}, outcome)
    return render(request, "flows/second_factor.html", {"form": form})


@pending_step(flow.ENROL_SECOND_FACTOR)
def enrol(request, state, account):
    device = None
    if state.get("device"):
        device = totp.TotpDevice.objects.filter(pk=state["device"], account=account, confirmed_at__isnull=True).first()
    if device is None:
        device = totp.start_enrolment(account)
        state["device"] = device.pk
        request.session[flow.FLOW_KEY] = state
    form = EnrolForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        codes = totp.confirm_enrolment(device, form.cleaned_data["code"])
        if codes is not None:
            from schoolid.audit.services import record_event

            record_event("second_factor.enrolled", "success", actor=account, target=account, request=request, detail={"factor": "totp"})
            state.update({"step": flow.RECOVERY_CODES, "codes": codes, "amr": state["amr"] + ["totp"]})
            request.session[flow.FLOW_KEY] = state
            return redirect(flow.STEP_URLS[flow.RECOVERY_CODES])
        error = _("The code is not correct. Check the time on your phone and try again.")
    uri = totp.provisioning_uri(device, account.display_code)
    context = {"form": form, "error": error, "qr": totp.qr_svg_data_uri(uri), "seed": totp.seed_of(device), "account": account}
    return render(request, "flows/enrol.html", context)


@pending_step(flow.RECOVERY_CODES)
def recovery_codes(request, state, account):
    if request.method == "POST":
        state.pop("codes", None)
        return _after(request, flow.finish(request, account, state["amr"]))
    return render(request, "flows/recovery_codes.html", {"codes": state.get("codes", [])})


@require_POST
def signout(request):
    before = dict(request.session.items())  # read before the session is flushed
    flow.sign_out(request)
    return redirect(signout_hooks.next_url(before, reverse("signin") + "?signed_out=1"))


@never_cache
@require_http_methods(["GET", "POST"])
def sms_signin(request):
    """Seed 001: the ID number, then "Send me an SMS". One answer whether or not the ID exists."""
    if not settings.SCHOOLID_PROFILE.sms_sign_in_roles:
        raise Http404
    form = SmsStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not sms_flow.start(request, form.cleaned_data["national_id"]):
            return _too_many(request, "flows/sms_signin.html", {"form": form}, _("Too many codes were asked for. Wait an hour, then try again."))
        return redirect("signin-sms-code")
    return render(request, "flows/sms_signin.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def sms_code(request):
    flow_object = sms_flow.current_flow(request)
    if flow_object is None:
        return redirect("signin-sms")
    form = SmsCodeForm(request.POST or None)
    if request.method == "POST" and request.POST.get("resend"):
        if not sms_flow.start(request, flow_object.identifier_key):
            return _too_many(request, "flows/sms_code.html", {"form": SmsCodeForm()}, _("Too many codes were asked for. Wait an hour, then try again."))
        return redirect("signin-sms-code")
    if request.method == "POST" and form.is_valid():
        outcome = sms_flow.verify(request, flow_object, form.cleaned_data["code"])
        if outcome.kind == "ok":
            return _after(request, outcome)
        message = _("The code is not correct or has expired. Check it, or ask for a new one.") if outcome.kind == "invalid" else None
        return _render(request, "flows/sms_code.html", {"form": form, "error": message}, outcome)
    return render(request, "flows/sms_code.html", {"form": form})


def _activation_enabled() -> bool:
    profile = settings.SCHOOLID_PROFILE
    return "self_activation" in profile.credential_issuers or "national_id_email" in profile.recovery_methods


@never_cache
@require_http_methods(["GET", "POST"])
def activation_start(request):
    """Seed 002: the national ID the first time (or the e-mail later) → an e-mail with the login and a link."""
    if not _activation_enabled():
        raise Http404
    form = ActivationStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not activation.start(request, form.cleaned_data["identifier"]):
            return _too_many(request, "flows/activation_start.html", {"form": form}, _("Too many e-mails were asked for. Wait an hour, then try again."))
        return redirect("activation-sent")
    return render(request, "flows/activation_start.html", {"form": form})


@never_cache
def activation_sent(request):
    if not _activation_enabled():
        raise Http404
    return render(request, "flows/activation_sent.html", {"minutes": activation.link_seconds() // 60})


@never_cache
@require_http_methods(["GET", "POST"])
def activation_link(request, token: str):
    link = activation.token_for(token)
    if link is None:
        response = render(request, "flows/link_invalid.html", {"again_url": reverse("activation")}, status=410)
    else:
        account = link.flow.account
        form = NewPasswordForm(request.POST or None, account=account, profile=settings.SCHOOLID_PROFILE)
        refusal = activation.refusal_for_activation(account)
        if refusal:
            # Age rules (issue 6 item 5): said plainly to the holder of a valid link.
            response = render(request, "flows/activation_refused.html", {"reason": refusal, "age": settings.SCHOOLID_PROFILE.age_threshold}, status=403)
        elif request.method == "POST" and form.is_valid():
            result = activation.finish(request, link, form.cleaned_data["new_password"])
            if result is None:
                response = render(request, "flows/link_invalid.html", {"again_url": reverse("activation")}, status=410)
            else:
                kind, identifier = result
                response = render(request, "flows/activation_done.html", {"identifier": identifier, "kind": kind})
        else:
            response = render(request, "flows/new_password.html", {"form": form, "min_length": form.min_length, "person": account.person})
    # The token is in the URL: it must not leak to other sites (FP-CS "URL Tokens").
    response["Referrer-Policy"] = "no-referrer"
    return response


def _no_referrer(response):
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def recovery_start(request):
    if not recovery.enabled():
        raise Http404
    form = RecoveryStartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if not recovery.start(request, form.cleaned_data["need"], form.cleaned_data["identifier"]):
            return _too_many(request, "flows/recovery_start.html", {"form": form}, _("Too many codes were asked for. Wait an hour, then try again."))
        return redirect("recovery-sent")
    return render(request, "flows/recovery_start.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def recovery_sent(request):
    flow_object = recovery.current_flow(request)
    if flow_object is None:
        return redirect("recovery")
    form = RecoveryCodeForm(request.POST or None)
    status, error = 200, None
    if request.method == "POST" and form.is_valid():
        result, retry_after = recovery.prove_by_code(request, flow_object, form.cleaned_data["code"])
        if result == "ok":
            return redirect("recovery-question" if flow_object.state == flow_object.State.NEEDS_ANSWER else "recovery-finish")
        status = {"invalid": 200, "throttled": 429, "locked": 403}[result]
        error = _("The code is not correct or has expired. Check it, or ask for a new one.") if result == "invalid" else _("Too many wrong codes. Start again later.")
    return render(request, "flows/recovery_sent.html", {"form": form, "error": error, "minutes": recovery.link_seconds() // 60}, status=status)


@never_cache
def recovery_link(request, token: str):
    flow_object = recovery.prove_by_link(request, token)
    if flow_object is None:
        return _no_referrer(render(request, "flows/link_invalid.html", {"again_url": reverse("recovery")}, status=410))
    return _no_referrer(redirect("recovery-question" if flow_object.state == flow_object.State.NEEDS_ANSWER else "recovery-finish"))


@never_cache
@require_http_methods(["GET", "POST"])
def recovery_question(request):
    """Legacy option only (security requirements C2): the security question, after the link or code."""
    from schoolid.accounts import security_questions

    if not security_questions.enabled():
        raise Http404
    # Only the browser that proved the contact goes on (issue 11 item 1).
    flow_object = recovery.proven_flow(request)
    if flow_object is None or flow_object.state != flow_object.State.NEEDS_ANSWER:
        return redirect("recovery")
    answer = security_questions.SecurityAnswer.objects.filter(account=flow_object.account).first()
    error, status = None, 200
    if request.method == "POST":
        result, _retry = recovery.answer_question(request, flow_object, request.POST.get("answer", "")[:200])
        if result == "ok":
            return redirect("recovery-finish")
        error = _("The answer is not right. Try again.") if result == "invalid" else _("Too many wrong answers. Start again later.")
        status = {"invalid": 200, "throttled": 429, "locked": 403}[result]
    question = security_questions.QUESTIONS.get(answer.question) if answer else ""
    return render(request, "flows/recovery_question.html", {"question": question, "error": error}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def recovery_finish(request):
    # Only the browser that proved the contact sees the login or sets the password (issue 11 item 1).
    flow_object = recovery.proven_flow(request)
    if flow_object is None or flow_object.state != flow_object.State.PROVEN:
        return redirect("recovery")
    kind, login = recovery.login_of(flow_object)
    if flow_object.need == "login":
        if request.method == "POST":
            recovery.complete(request, flow_object, None)  # already finished by a parallel request: the same page
            return redirect("signin")
        return _no_referrer(render(request, "flows/recovery_finish.html", {"login": login, "form": None}))
    account = flow_object.account
    form = NewPasswordForm(request.POST or None, account=account, profile=settings.SCHOOLID_PROFILE)
    if request.method == "POST" and form.is_valid():
        if not recovery.complete(request, flow_object, form.cleaned_data["new_password"]):
            return redirect("recovery")  # a parallel request finished it first; this password was not set
        # Not signed in (FP-CS "User Resets Password"): the person signs in with the new password.
        return _no_referrer(render(request, "flows/recovery_done.html", {"login": login}))
    context = {"login": login if flow_object.need == "both" else None, "form": form, "min_length": form.min_length}
    return _no_referrer(render(request, "flows/recovery_finish.html", context))


@never_cache
def who_can_help(request):
    """When self-service cannot work: the school's principal and secretary by name, and the school's
    own contact. No personal phone number or e-mail is shown."""
    from schoolid.accounts.selectors import school_helpers
    from schoolid.directory.models import OrgUnit
    from schoolid.directory.selectors import search_schools

    query = request.GET.get("q", "")[:100]
    school = None
    if request.GET.get("school"):
        school = OrgUnit.objects.filter(kind=OrgUnit.Kind.SCHOOL, code=request.GET["school"][:64], active=True).select_related("parent").first()
    context = {
        "query": query,
        "schools": search_schools(query) if query and school is None else [],
        "school": school,
        "helpers": list(school_helpers(school)) if school else [],
    }
    return render(request, "flows/who_can_help.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def access_request(request):
    """Seed 004: someone without an account picks the school and asks for access."""
    from schoolid.directory.models import AccessRequest, OrgUnit
    from schoolid.directory.selectors import access_request_choices, search_schools
    from schoolid.directory.services import RegisterError
    from schoolid.families import access_requests

    code = (request.POST.get("school") or request.GET.get("school", ""))[:64]
    school = OrgUnit.objects.filter(kind=OrgUnit.Kind.SCHOOL, code=code, active=True).select_related("parent__parent").first() if code else None
    query = request.GET.get("q", "")[:100]
    context = {"school": school, "query": query, "schools": search_schools(query) if query and not school else [], "roles": AccessRequest.ROLES,
               "data": request.POST or {"role": request.GET.get("role", "")}, "role": request.GET.get("role", "")}
    if school is None:  # role → region → district → school, with the name search as a shortcut
        context.update(access_request_choices(request.GET.get("region", "")[:64], request.GET.get("district", "")[:64]))
    if request.method == "POST" and school is not None:
        try:
            access_requests.submit(request, role=request.POST.get("role", ""), school=school, national_id=request.POST.get("national_id", ""),
                                   given_name=request.POST.get("given_name", ""), family_name=request.POST.get("family_name", ""),
                                   email=request.POST.get("email", ""), mobile=request.POST.get("mobile", ""))
        except RegisterError as exc:
            context["error"] = exc.message
            return render(request, "flows/access_request.html", context, status=200)
        return render(request, "flows/access_request_sent.html", {"school": school})
    return render(request, "flows/access_request.html", context)
