"""The staff console. Thin: every decision is made by the services and the one scope rule."""
from __future__ import annotations

import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from schoolid.accounts.models import Account, Role
from schoolid.accounts.scope import Action, decide
from schoolid.accounts.services import ScopeDenied, refuse
from schoolid.audit.services import record_event
from schoolid.console import selectors
from schoolid.console.selectors import (
    CONSOLE_ACTIONS,
    AccountFilter,
    can_issue,
    classes_in_scope,
    find_by_national_id,
    identity_visible,
    not_yet_activated,
    register_edit_access,
    role_summary,
    visible_accounts,
)
from schoolid.console.services import edit_person
from schoolid.credentials import exports
from schoolid.credentials.models import IssuanceBatch
from schoolid.credentials.services import (
    IssuanceRefused,
    forget_results,
    issue_secrets,
    new_idempotency_key,
    reset_second_factor,
    stash_result,
    stashed_result,
)
from schoolid.credentials.totp import confirmed_device
from schoolid.directory.models import Guardianship
from schoolid.directory.phones import display_phone
from schoolid.directory.services import REGISTER_FIELDS, RegisterEditError, RegisterError, record_version
from schoolid.families import guardianships
from schoolid.flows.login import is_staff_session
from schoolid.flows.sms_signin import find_by_national_id as find_account_by_national_id

PAGE_SIZE = 50
MAX_IDS = 5000


def staff_view(keep_results: bool = False):
    """Signed in, holding a staff role, and past the second factor in this session."""

    def decorator(view):
        @functools.wraps(view)
        @never_cache
        @login_required
        def wrapper(request, *args, **kwargs):
            if not is_staff_session(request):
                record_event("console.denied", "denied", actor=request.user, request=request, detail={"path": request.path[:100]})
                return render(request, "console/denied.html", {"message": _("The staff console is for school and district staff who signed in with a second step.")}, status=403)
            if not keep_results:
                # Leaving the result page: its secrets can no longer be shown (re-issue instead).
                forget_results(request.session)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _denied(request, message: str):
    return render(request, "console/denied.html", {"message": message}, status=403)


def _targets_from_post(request) -> tuple[list[Account], AccountFilter, bool]:
    flt = AccountFilter.from_query(request.POST)
    if request.POST.get("all_matching") == "1":
        if request.POST.get("subset") == "not_activated":
            return list(not_yet_activated(request.user)[:MAX_IDS + 1]), flt, True
        return list(visible_accounts(request.user, flt=flt)[:MAX_IDS + 1]), flt, True
    codes = request.POST.getlist("account")[:MAX_IDS + 1]
    # Anyone not visible is looked up too, so the scope check can refuse (and audit) it by name.
    return list(Account.objects.select_related("person").filter(user_code__in=codes)), flt, False


@staff_view()
@require_GET
def people(request):
    flt = AccountFilter.from_query(request.GET)
    qs = visible_accounts(request.user, CONSOLE_ACTIONS, flt=flt)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    context = {
        "can_issue": can_issue(request.user),
        "flt": flt,
        "page": page,
        "rows": rows,
        "roles": role_summary(rows),
        "full_ids": identity_visible(request.user, rows),
        "total": page.paginator.count,
        "classes": classes_in_scope(request.user),
        "statuses": Account.Status.choices,
        "query_string": "&".join(f"{k}={v}" for k, v in flt.as_query().items()),
    }
    return render(request, "console/people.html", context)


@staff_view()
@require_POST
def issue_confirm(request):
    targets, flt, all_matching = _targets_from_post(request)
    if not targets:
        return render(request, "console/people_empty.html", {"message": _("Select at least one person.")}, status=400)
    if len(targets) > MAX_IDS:
        return render(request, "console/people_empty.html", {"message": _("Select at most %(n)d people at once.") % {"n": MAX_IDS}}, status=400)
    context = {
        "count": len(targets),
        "targets": targets[:20],
        "more": max(0, len(targets) - 20),
        "codes": [t.user_code for t in targets] if not all_matching else [],
        "all_matching": all_matching,
        "subset": request.POST.get("subset", ""),
        "flt": flt,
        "idempotency_key": new_idempotency_key(),
    }
    return render(request, "console/confirm.html", context)


@staff_view()
@require_POST
def issue(request):
    key = request.POST.get("idempotency_key", "")
    if not key or len(key) > 64:
        return render(request, "console/people_empty.html", {"message": _("This form is out of date. Start again from the list.")}, status=400)
    targets, flt, all_matching = _targets_from_post(request)
    description = "; ".join(f"{k}={v}" for k, v in flt.as_query().items()) if all_matching else f"{len(targets)} selected"
    try:
        result = issue_secrets(request.user, targets, idempotency_key=key, description=description, request=request)
    except IssuanceRefused as refused:
        names = ", ".join(str(a.person or a) for a in refused.refused[:10])
        return _denied(request, _("Nothing was issued: you may not issue passwords for %(names)s.") % {"names": names})
    except ValueError:
        return render(request, "console/people_empty.html", {"message": _("Select at least one person.")}, status=400)
    if result.items is not None:
        stash_result(request.session, result)
    return redirect("console-issued", batch_id=result.batch.pk)


@staff_view(keep_results=True)
@require_GET
def issued(request, batch_id):
    batch = IssuanceBatch.objects.filter(pk=batch_id, actor=request.user).first()
    if batch is None:
        raise Http404
    items = stashed_result(request.session, batch_id)
    return render(request, "console/issued.html", {"batch": batch, "items": items})


def _download(request, batch_id, kind: str):
    batch = IssuanceBatch.objects.filter(pk=batch_id, actor=request.user).first()
    items = stashed_result(request.session, batch_id) if batch else None
    if items is None:
        raise Http404
    record_event("credentials.exported", "success", actor=request.user, request=request, detail={"batch": str(batch_id), "format": kind})
    stamp = batch.created_at.strftime("%Y%m%d-%H%M")
    if kind == "pdf":
        with translation.override(settings.SCHOOLID_PROFILE.default_language):  # the slips' language
            title = selectors.batch_title(batch)
        response = HttpResponse(exports.slips_pdf(items, settings.SCHOOLID_PROFILE, title=title or None), content_type="application/pdf")
    else:
        response = HttpResponse(exports.items_csv(items), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="schoolid-{stamp}.{kind}"'
    response["Cache-Control"] = "no-store"
    return response


@staff_view(keep_results=True)
@require_GET
def issued_pdf(request, batch_id):
    return _download(request, batch_id, "pdf")


@staff_view(keep_results=True)
@require_GET
def issued_csv(request, batch_id):
    return _download(request, batch_id, "csv")


@staff_view()
def find(request):
    """Hamgam "edit": national ID and role, then the person's page."""
    context = {"roles": [(r, label) for r, label in Role.choices if r != Role.MINISTRY_ADMIN], "national_id": "", "role": Role.STUDENT}
    if request.method == "POST":
        national_id, role = request.POST.get("national_id", ""), request.POST.get("role", "")
        context.update(national_id=national_id, role=role)
        account = find_by_national_id(request.user, national_id, role)
        if account is not None:
            return redirect("console-person", user_code=account.user_code)
        context["error"] = _("Nobody with this national ID and role is in your scope.")
    return render(request, "console/find.html", context)


def _target(request, user_code: str) -> Account:
    account = Account.objects.select_related("person").filter(user_code=user_code).first()
    if account is None:
        raise Http404
    return account


@staff_view()
@require_GET
def person(request, user_code):
    target = _target(request, user_code)
    allowed = {action: decide(request.user, action, target).allowed for action in CONSOLE_ACTIONS}
    if not any(allowed.values()):
        reason = decide(request.user, Action.ISSUE_CREDENTIALS, target).reason
        refuse(request.user, "console.view", target, reason, request=request)
        return _denied(request, _("This person is not in your scope."))
    assignments = role_summary([target])[target.pk]
    is_student = any(a.role == Role.STUDENT for a in assignments)
    context = {
        "target": target,
        "assignments": assignments,
        "may_issue": allowed[Action.ISSUE_CREDENTIALS],
        "may_propose": allowed[Action.PROPOSE_GUARDIANSHIP] and is_student,
        "guardian_links": Guardianship.objects.filter(student_id=target.person_id).exclude(status=Guardianship.Status.REJECTED).select_related("guardian__account") if is_student else [],
        "edit_access": register_edit_access(request.user, target),
        "has_second_factor": confirmed_device(target) is not None,
        "idempotency_key": new_idempotency_key(),
        "error": request.GET.get("error") == "1",
    }
    return render(request, "console/person.html", context)


@staff_view()
@require_POST
def propose_guardian(request, user_code):
    """Seed 004: a class teacher or school admin proposes a parent; the parent confirms or rejects."""
    student = _target(request, user_code)
    guardian = find_account_by_national_id(request.POST.get("national_id", ""))
    try:
        if guardian is None:
            raise RegisterError("national_id", _("Nobody with this national ID has an account."))
        guardianships.propose(request.user, guardian=guardian, student=student, request=request)
    except ScopeDenied:
        return _denied(request, _("You may not propose parents for this pupil."))
    except RegisterError as exc:
        messages.error(request, exc.message)
        return redirect("console-person", user_code=user_code)
    messages.success(request, _("The parent was asked to confirm the link."))
    return redirect("console-person", user_code=user_code)


@staff_view()
@require_POST
def end_guardian_link(request, user_code, link_id):
    student = _target(request, user_code)
    link = Guardianship.objects.filter(pk=link_id, student_id=student.person_id).first()
    if link is None:
        raise Http404
    try:
        guardianships.end(request.user, link, request=request)
    except ScopeDenied:
        return _denied(request, _("You may not change this pupil's parents."))
    messages.success(request, _("The link was ended."))
    return redirect("console-person", user_code=user_code)


@staff_view()
@require_POST
def person_reset(request, user_code):
    target = _target(request, user_code)
    try:
        result = issue_secrets(request.user, [target], idempotency_key=request.POST.get("idempotency_key", "")[:64] or new_idempotency_key(),
                               kind=IssuanceBatch.Kind.INDIVIDUAL, description=target.user_code, request=request)
    except IssuanceRefused:
        return _denied(request, _("You may not reset this person's password."))
    if result.items is not None:
        stash_result(request.session, result)
    return redirect("console-issued", batch_id=result.batch.pk)


@staff_view()
@require_POST
def person_reset_second_factor(request, user_code):
    target = _target(request, user_code)
    try:
        reset_second_factor(request.user, target, request=request)
    except ScopeDenied:
        return _denied(request, _("You may not reset this person's second step."))
    return render(request, "console/done.html", {"message": _("The second step was removed. %(name)s sets up a new authenticator app at the next sign-in.") % {"name": target.person or target}})


@staff_view()
@require_GET
def not_activated(request):
    qs = not_yet_activated(request.user)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    return render(request, "console/not_activated.html", {"page": page, "rows": rows, "roles": role_summary(rows),
                                                            "full_ids": identity_visible(request.user, rows), "total": page.paginator.count})


@staff_view()
def access_requests_view(request):
    """Seed 004: the school's admins match each request to the register, or reject it with a reason."""
    from schoolid.directory.models import AccessRequest
    from schoolid.families import access_requests

    if request.method == "POST":
        item = AccessRequest.objects.select_related("school").filter(pk=request.POST.get("request", "0")).first()
        if item is None:
            raise Http404
        try:
            if request.POST.get("decision") == "approve":
                access_requests.approve(request.user, item, request=request)
                messages.success(request, _("Approved: the activation link is on its way."))
            else:
                access_requests.reject(request.user, item, request.POST.get("reason", ""), request=request)
                messages.success(request, _("Rejected; the requester is told why."))
        except PermissionError:
            return _denied(request, _("This request is not for your school."))
        except RegisterError as exc:
            messages.error(request, exc.message)
        return redirect("console-access-requests")
    return render(request, "console/access_requests.html", {"items": access_requests.pending_for(request.user)})


# --- register editing (issue 5, item 6) ---------------------------------------------------------
EDIT_LABELS = {
    "national_id": gettext_lazy("National ID"),
    "given_name": gettext_lazy("Given name"),
    "family_name": gettext_lazy("Family name"),
    "given_name_latin": gettext_lazy("Given name (Latin)"),
    "family_name_latin": gettext_lazy("Family name (Latin)"),
    "birth_date": gettext_lazy("Birth date"),
    "email": gettext_lazy("E-mail"),
    "mobile": gettext_lazy("Mobile number"),
}
# (input type, inputmode, left-to-right) per field; text inputs so that every digit script can be typed.
EDIT_INPUTS = {
    "national_id": ("text", "numeric", True),
    "given_name": ("text", "text", False),
    "family_name": ("text", "text", False),
    "given_name_latin": ("text", "text", True),
    "family_name_latin": ("text", "text", True),
    "birth_date": ("text", "numeric", True),
    "email": ("email", "email", True),
    "mobile": ("tel", "tel", True),
}


def _stored(person, name: str) -> str:
    value = getattr(person, name)
    if value is None:
        return ""
    return value.isoformat() if name == "birth_date" else str(value)


# What a contact-only editor (a class teacher) is shown besides the contact fields: enough to know
# whom they are editing, not the national ID or the birth date (least disclosure, ASVS v5 14.2.6).
CONTACT_MODE_SHOWN = ("given_name", "family_name", "given_name_latin", "family_name_latin", "email", "mobile")


def _edit_rows(person, access, typed: dict | None, errors: dict) -> list[dict]:
    rows = []
    for name in REGISTER_FIELDS:
        if access.mode == "contact" and name not in CONTACT_MODE_SHOWN:
            continue
        kind, inputmode, ltr = EDIT_INPUTS[name]
        stored = _stored(person, name)
        editable = name in access.editable
        rows.append({
            "name": name, "label": EDIT_LABELS[name], "type": kind, "inputmode": inputmode, "ltr": ltr,
            "editable": editable, "value": typed.get(name, stored) if typed is not None and editable else stored,
            "stored": stored, "shown": display_phone(stored) if name == "mobile" else stored,
            "error": errors.get(name),
            "verified": person.email_verified if name == "email" else person.mobile_verified if name == "mobile" else None,
        })
    return rows


@staff_view()
@require_http_methods(["GET", "POST"])
def person_edit(request, user_code):
    """Register data of a pupil, a parent or (for a principal) school staff; a class teacher gets the
    e-mail and the mobile only. The services decide; a repeated submit changes nothing."""
    target = _target(request, user_code)
    access = register_edit_access(request.user, target)
    if not access:
        reason = decide(request.user, Action.EDIT_CONTACT, target).reason
        refuse(request.user, "console.edit", target, reason, request=request)
        return _denied(request, _("You may not edit this person's register data."))
    typed, errors = None, {}
    version = record_version(target.person)
    if request.method == "POST":
        typed = {name: request.POST[name][:300] for name in REGISTER_FIELDS if name in request.POST}
        try:
            result = edit_person(request.user, target, typed, request=request, version=request.POST.get("version", "")[:64] or None)
        except ScopeDenied:
            return _denied(request, _("You may not change these fields of this person."))
        except RegisterEditError as exc:
            errors = exc.errors
            if "record" not in errors:
                version = request.POST.get("version", "")[:64] or version  # a later save still sees others' changes
            target.person.refresh_from_db()
        else:
            if result.changed:
                names = ", ".join(str(EDIT_LABELS[name]) for name in result.changed)
                messages.success(request, _("Saved: %(fields)s.") % {"fields": names})
            else:
                messages.info(request, _("Nothing was changed."))
            return redirect("console-person", user_code=user_code)
    context = {
        "target": target,
        "access": access,
        "rows": _edit_rows(target.person, access, typed, errors),
        "record_error": errors.get("record"),
        "has_errors": bool(errors),
        "version": version,
    }
    return render(request, "console/person_edit.html", context, status=400 if errors else 200)


# --- roles waiting for confirmation (issue 11, item 2) ----------------------------------------------
@staff_view()
@require_http_methods(["GET", "POST"])
def pending_roles(request):
    """A role a school's client asked for someone who is also another unit's: confirm or refuse."""
    from schoolid.accounts.models import PendingRole
    from schoolid.accounts.selectors import pending_roles_for
    from schoolid.accounts.services import decide_pending_role

    if request.method == "POST":
        pending = PendingRole.objects.select_related("account", "org_unit").filter(pk=request.POST.get("pending", "0"), status=PendingRole.Status.PENDING).first()
        if pending is None:
            raise Http404
        try:
            decide_pending_role(request.user, pending, confirm=request.POST.get("decision") == "confirm", request=request)
        except PermissionError:
            return _denied(request, _("This role is not yours to confirm."))
        messages.success(request, _("The decision on the waiting role is recorded."))
        return redirect("console-pending-roles")
    return render(request, "console/pending_roles.html", {"items": pending_roles_for(request.user)})


# --- sync from the register (issue 5, item 5) -------------------------------------------------------
SYNC_COUNT_LABELS = {
    "orgs_created": gettext_lazy("org units created"),
    "orgs_updated": gettext_lazy("org units changed"),
    "orgs_deactivated": gettext_lazy("org units closed"),
    "people_created": gettext_lazy("people added"),
    "people_updated": gettext_lazy("people changed"),
    "people_adopted": gettext_lazy("people matched by national ID"),
    "people_unchanged": gettext_lazy("people unchanged"),
    "email_updated": gettext_lazy("e-mail addresses changed"),
    "mobile_updated": gettext_lazy("mobile numbers changed"),
    "birth_dates_updated": gettext_lazy("birth dates changed"),
    "accounts_created": gettext_lazy("accounts created"),
    "roles_added": gettext_lazy("roles added"),
    "roles_ended": gettext_lazy("roles ended"),
    "roles_skipped": gettext_lazy("roles SchoolID does not use"),
    "links_added": gettext_lazy("guardian links added"),
    "links_confirmed": gettext_lazy("guardian links confirmed"),
    "links_ended": gettext_lazy("guardian links ended"),
    "people_missing": gettext_lazy("people missing from the register"),
    "people_returned": gettext_lazy("people back in the register"),
    "people_deactivated": gettext_lazy("people whose roles ended after the grace period"),
    "accounts_disabled": gettext_lazy("accounts disabled"),
    "accounts_enabled": gettext_lazy("accounts enabled again"),
}


@staff_view()
@require_http_methods(["GET", "POST"])
def sync(request):
    """Poland's manual trigger: "Sync now", and the reports of the last runs."""
    from schoolid.provisioning import selectors as sync_selectors
    from schoolid.provisioning.services import SyncAlreadyRunning, SyncNotConfigured, may_sync, request_sync

    if not may_sync(request.user):
        record_event("provisioning.sync_page", "denied", actor=request.user, request=request)
        return _denied(request, _("Only ministry administrators, who cover the whole register, start a sync and read its reports."))
    if request.method == "POST":
        try:
            request_sync(request.user, request=request)
            messages.success(request, _("The sync from the register has started. Its report appears below when it ends."))
        except SyncAlreadyRunning as exc:
            messages.error(request, str(exc))
        except SyncNotConfigured:
            messages.error(request, _("No register source is configured for this deployment."))
        except Exception:  # the run and its failure are recorded by the import itself
            messages.error(request, _("The sync failed. The report below says why."))
        return redirect("console-sync")
    return render(request, "console/sync.html", {"runs": sync_selectors.recent_runs(), "configured": bool(settings.SCHOOLID_SYNC_SOURCE)})


@staff_view()
@require_GET
def sync_report(request, run_id: int):
    from schoolid.provisioning import selectors as sync_selectors
    from schoolid.provisioning.models import ImportRun
    from schoolid.provisioning.services import may_sync

    if not may_sync(request.user):
        record_event("provisioning.sync_page", "denied", actor=request.user, request=request)
        return _denied(request, _("Only ministry administrators, who cover the whole register, start a sync and read its reports."))
    run = ImportRun.objects.filter(pk=run_id, dry_run=False).first()
    if run is None:
        raise Http404
    page = Paginator(sync_selectors.run_problems(run), 100).get_page(request.GET.get("page"))
    counts = [(SYNC_COUNT_LABELS.get(key, key), value) for key, value in run.counts.items() if value and isinstance(value, int)]
    return render(request, "console/sync_report.html", {"run": run, "counts": counts, "page": page})

