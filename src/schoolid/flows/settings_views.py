"""Account settings (seed 004): password, e-mail, mobile and security question; each change is a
journey in flows (contact_change) with the password typed again."""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from schoolid.accounts.passwords import check_password_policy, context_words_for, minimum_length
from schoolid.accounts.selectors import current_assignments, login_identifier_for, pending_links
from schoolid.accounts.services import change_password as change_password_service
from schoolid.audit.services import record_event
from schoolid.core.digits import ascii_digits
from schoolid.directory.services import RegisterError, normalize_email, normalize_mobile
from schoolid.flows import contact_change
from schoolid.flows.forms import ChangePasswordForm, EmailChangeForm, PhoneChangeForm, SmsCodeForm


@never_cache
@login_required
def account(request):
    account = request.user
    kind, identifier = login_identifier_for(account)
    context = {
        "account": account,
        "person": account.person,
        "assignments": current_assignments(account),
        "identifier_kind": kind,
        "identifier": identifier,
        # The banner after sign-in: children waiting for this parent's answer (seed 004).
        "pending_links": pending_links(account) if account.person_id else 0,
        "sessions": _session_rows(request),
    }
    return render(request, "accounts/account.html", context)


def _session_rows(request) -> list[dict]:
    from schoolid.accounts import sessions

    current = request.session.get(sessions.INDEX_KEY)
    return [{"id": row.pk, "device": sessions.device_label(row.user_agent), "user_agent": row.user_agent, "ip": row.ip or "",
             "last_seen": row.last_seen_at, "created": row.created_at, "current": row.pk == current}
            for row in sessions.open_sessions(request.user)[:50]]


@never_cache
@login_required
@require_POST
def end_sessions(request):
    """End one of my signed-in sessions, or all but this one (ASVS v5 7.5.2)."""
    from schoolid.accounts import sessions

    if request.POST.get("scope") == "others":
        sessions.end_all_others(request)
        messages.success(request, _("You were signed out everywhere else."))
    else:
        try:
            row_id = int(ascii_digits(request.POST.get("session", ""))[:18] or "0")
        except ValueError:
            row_id = 0
        if sessions.end_one(request, row_id):
            messages.success(request, _("That session was signed out."))
    return redirect("account")


def home(request):
    return redirect("account" if request.user.is_authenticated else "signin")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def change_password(request):
    account = request.user
    profile = settings.SCHOOLID_PROFILE
    form = ChangePasswordForm(request.POST or None, account=account, profile=profile)
    status, error = 200, None
    if request.method == "POST" and form.is_valid():
        outcome = change_password_service(
            request, account, form.cleaned_data["current_password"], form.cleaned_data["new_password"],
            end_other_sessions=form.cleaned_data["end_other_sessions"],
        )
        if outcome == "ok":
            messages.success(request, _("Your password was changed."))
            return redirect("account")
        if outcome == "wrong_current":
            form.add_error("current_password", _("This is not your current password."))
        else:
            status = 429 if outcome == "throttled" else 403
            error = _("Too many wrong passwords. Wait a while, or recover your access.")
    context = {"form": form, "min_length": minimum_length(account._active_roles(), profile), "max_length": profile.password_policy.max_length, "error": error}
    return render(request, "accounts/change_password.html", context, status=status)


@login_required
@require_POST
def check_new_password(request):
    """Live policy hints while typing: the reasons a candidate password would be refused."""
    candidate = request.POST.get("password", "")[:1024]
    problems = check_password_policy(candidate, roles=request.user._active_roles(), context_words=context_words_for(request.user))
    response = JsonResponse({"ok": not problems, "problems": [p.message for p in problems], "length": len(candidate)})
    response["Cache-Control"] = "no-store"
    return response


def _reauth_error(outcome: str) -> str:
    if outcome == "wrong":
        return _("This is not your current password.")
    if outcome == "wrong_code":
        return _("Your account has a second step: type the current code from your authenticator app, or one of your recovery codes.")
    return _("Too many wrong passwords. Wait a while, or recover your access.")


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def change_email(request):
    """Seed 004: Settings → Security → change e-mail, with the password typed again."""
    account = request.user
    form = EmailChangeForm(request.POST or None)
    pending = contact_change.pending_email(account)
    error, status = None, 200
    if request.method == "POST" and request.POST.get("resend") and pending is not None:
        if not contact_change.send_email_confirmation(request, account, pending.target):
            error, status = _("Too many e-mails were asked for. Wait an hour, then try again."), 429
        else:
            messages.success(request, _("We sent the confirmation again. Only the newest link works."))
            return redirect("change-email")
    elif request.method == "POST" and form.is_valid():
        outcome = contact_change.reauthenticate_for_contact(request, account, form.cleaned_data["password"], form.cleaned_data["second_factor"])
        if outcome != "ok":
            error, status = _reauth_error(outcome), {"wrong": 200, "wrong_code": 200, "throttled": 429, "locked": 403}[outcome]
        elif not contact_change.send_email_confirmation(request, account, normalize_email(form.cleaned_data["new_email"])):
            error, status = _("Too many e-mails were asked for. Wait an hour, then try again."), 429
        else:
            messages.success(request, _("Open the link we sent to the new address to confirm it. Until then your e-mail stays as it is."))
            return redirect("change-email")
    context = {"form": form, "error": error, "pending": contact_change.pending_email(account), "person": account.person,
               "second_factor": contact_change.has_second_factor(account)}
    return render(request, "accounts/change_email.html", context, status=status)


@never_cache
def confirm_email(request, token: str):
    result, account = contact_change.confirm_email(request, token)
    if result == "sign_in" and not request.user.is_authenticated:
        # Signed in to the account that asked, the same link confirms.
        response = redirect(reverse("signin") + "?" + urlencode({"next": request.path}))
    elif result == "sign_in":
        response = render(request, "flows/link_other_account.html", status=403)
    elif account is None:
        response = render(request, "flows/link_invalid.html", {"again_url": reverse("change-email")}, status=410)
    else:
        response = render(request, "accounts/email_confirmed.html", {"email": account.person.email if account.person else ""})
    response["Referrer-Policy"] = "no-referrer"
    return response


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def change_phone(request):
    account = request.user
    form = PhoneChangeForm(request.POST or None)
    error, status = None, 200
    if request.method == "POST" and form.is_valid():
        try:
            mobile = normalize_mobile(form.cleaned_data["new_mobile"])
        except RegisterError as exc:
            form.add_error("new_mobile", exc.message)
            mobile = None
        if mobile:
            outcome = contact_change.reauthenticate_for_contact(request, account, form.cleaned_data["password"], form.cleaned_data["second_factor"])
            if outcome != "ok":
                error, status = _reauth_error(outcome), {"wrong": 200, "wrong_code": 200, "throttled": 429, "locked": 403}[outcome]
            elif not contact_change.start_phone_change(request, account, mobile):
                error, status = _("Too many codes were asked for. Wait an hour, then try again."), 429
            else:
                return redirect("change-phone-code")
    return render(request, "accounts/change_phone.html", {"form": form, "error": error, "person": account.person,
                                                          "second_factor": contact_change.has_second_factor(account)}, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def change_phone_code(request):
    account = request.user
    flow_object = contact_change.pending_phone(request, account)
    if flow_object is None:
        return redirect("change-phone")
    form = SmsCodeForm(request.POST or None)
    error, status = None, 200
    if request.method == "POST" and form.is_valid():
        outcome = contact_change.confirm_phone(request, account, flow_object, form.cleaned_data["code"])
        if outcome == "ok":
            messages.success(request, _("Your mobile number was changed."))
            return redirect("account")
        error = _("The code is not correct or has expired. Check it, or ask for a new one.") if outcome == "invalid" else _("Too many wrong codes. Start again later.")
        status = {"invalid": 200, "throttled": 429, "locked": 403}[outcome]
    return render(request, "accounts/change_phone_code.html", {"form": form, "error": error, "target": flow_object.target}, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def security_question(request):
    """Legacy option only (security requirements C2): choose or change the security question."""
    from schoolid.accounts import security_questions

    if not security_questions.enabled():
        raise Http404
    account = request.user
    current = security_questions.SecurityAnswer.objects.filter(account=account).first()
    error, status = None, 200
    if request.method == "POST":
        question, answer = request.POST.get("question", ""), request.POST.get("answer", "")[:200]
        if question not in security_questions.QUESTIONS or len(security_questions.normalize_answer(answer)) < 2:
            error = _("Choose a question and type an answer.")
        else:
            outcome = contact_change.reauthenticate(request, account, request.POST.get("password", ""))
            if outcome != "ok":
                error, status = _reauth_error(outcome), {"wrong": 200, "throttled": 429, "locked": 403}[outcome]
            else:
                record = current or security_questions.SecurityAnswer(account=account)
                record.question = question
                record.set_answer(answer)
                record.save()
                record_event("security_question.set", "success", actor=account, target=account, request=request)
                messages.success(request, _("Your security question was saved."))
                return redirect("account")
    context = {"questions": security_questions.QUESTIONS.items(), "current": current, "error": error}
    return render(request, "accounts/security_question.html", context, status=status)
