"""Access requests (seed 004): someone without an account asks a school; the school's admins match the
request to a register record (approve: the activation link goes out) or reject it with a reason."""
from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from schoolid.accounts.models import Account, Role
from schoolid.accounts.scope import RULES, Action, places_of
from schoolid.accounts.services import refuse
from schoolid.audit.services import record_event
from schoolid.core.profiles import current_profile
from schoolid.directory.models import AccessRequest, OrgUnit, Person
from schoolid.directory.services import (
    RegisterError,
    normalize_email,
    normalize_mobile,
    normalize_national_id_for_profile,
    offer_email,
)
from schoolid.notify.services import enqueue


def submit(request, *, role: str, school: OrgUnit, national_id: str, given_name: str, family_name: str, email: str, mobile: str) -> AccessRequest:
    """Validate and store the request; the school's principal and secretary are told."""
    from schoolid.notify.services import notify_person

    if role not in dict(AccessRequest.ROLES):
        raise RegisterError("role", _("Choose a role."))
    scheme, number = normalize_national_id_for_profile(national_id)
    email, mobile = normalize_email(email), normalize_mobile(mobile)
    if not email and not mobile:
        raise RegisterError("email", _("Give an e-mail or a mobile number, so the school can answer you."))
    if not given_name.strip() or not family_name.strip():
        raise RegisterError("given_name", _("The name is empty."))
    with transaction.atomic():
        item = AccessRequest.objects.create(role=role, school=school, national_id_scheme=scheme, national_id=number, given_name=given_name.strip()[:100],
                                            family_name=family_name.strip()[:100], email=email, mobile=mobile)
        event = record_event("access_request.submitted", "success", request=request, org_unit=school, detail={"request": item.pk, "role": role})
        admins = Account.objects.filter(assignments__org_unit=school, assignments__role__in=[Role.PRINCIPAL, Role.SECRETARY]).select_related("person").distinct()
        for admin in admins:
            notify_person(admin.person, purpose="access_request.submitted", subject=_("A new access request for your school"),
                          text=_("Someone asked for a SchoolID account at your school. Open the staff console → Access requests to match or reject it."),
                          dedupe_key=f"access_request:{event.pk}:{admin.pk}")
    return item


def school_units_for(actor: Account) -> list[str]:
    """Paths under which the actor reviews requests: where their rules let them edit the register."""
    profile = current_profile()
    paths = []
    for assignment in actor.assignments.current().select_related("org_unit"):
        for rule in RULES:
            if rule.actor_role == assignment.role and Action.EDIT_REGISTER in rule.actions and (rule.profile_flag is None or getattr(profile, rule.profile_flag)):
                paths.append(assignment.org_unit.path)
    return paths


def pending_for(actor: Account):
    paths = school_units_for(actor)
    if not paths:
        return AccessRequest.objects.none()
    from django.db.models import Q

    condition = Q()
    for path in paths:
        condition |= Q(school__path__startswith=path)
    return AccessRequest.objects.filter(condition, status=AccessRequest.Status.PENDING).select_related("school").order_by("created_at")


def _tell(item: AccessRequest, subject, text) -> None:
    with translation.override(current_profile().default_language):
        subject_text, body = str(subject), str(text)
    if item.email:
        enqueue(channel="email", to=item.email, subject=subject_text, body=body, purpose="access_request.outcome", dedupe_key=f"access_request_outcome:{item.pk}:email")
    elif item.mobile:
        enqueue(channel="sms", to=item.mobile, subject="", body=body, purpose="access_request.outcome", dedupe_key=f"access_request_outcome:{item.pk}:sms")


def _check_reviewer(actor: Account, item: AccessRequest, request) -> None:
    if not any(item.school.path.startswith(path) for path in school_units_for(actor)):
        refuse(actor, "access_request.review", None, "outside_scope", request=request, org_unit=item.school)
        raise PermissionError("outside scope")


def approve(actor: Account, item: AccessRequest, *, request=None) -> None:
    """Match to the register by national ID; the requester gets the activation link."""
    from schoolid.flows import kernel, links
    from schoolid.flows.activation import PURPOSE
    from schoolid.flows.models import Flow

    _check_reviewer(actor, item, request)
    person = Person.objects.filter(national_id_scheme=item.national_id_scheme, national_id=item.national_id).first()
    account = Account.objects.filter(person=person).first() if person else None
    # Only a person wholly inside the reviewer's units (issue 11, item 2): the link would hand someone
    # else's pupil to whoever sent the request, and a different answer would tell who is registered.
    places = places_of(account) if account is not None else []
    paths = school_units_for(actor)
    if person is None or account is None or not places or not all(any(p.startswith(root) for root in paths) for _r, p in places):
        if account is not None:
            record_event("access_request.approve", "denied", actor=actor, request=request, org_unit=item.school,
                         detail={"request": item.pk, "reason": "person_outside_scope" if places else "no_role"})
        raise RegisterError("national_id", _("Nobody with this national ID is in the register: add the person first, or reject the request."))
    if account.status != Account.Status.NOT_ACTIVATED:
        # A link to set the password of an account in use would bypass recovery: its owner recovers it.
        raise RegisterError("national_id", _("This person already uses their account: they get back in from the sign-in page, or the school gives them a one-time password."))
    with transaction.atomic():
        if AccessRequest.objects.filter(pk=item.pk, status=AccessRequest.Status.PENDING).update(
            status=AccessRequest.Status.APPROVED, matched_person=person, decided_by=actor, decided_at=timezone.now()
        ) != 1:
            raise RegisterError("status", _("This request was already answered."))
        from schoolid.flows.age_rules import refusal_for_activation

        refusal = refusal_for_activation(account)
        if refusal:
            # Age rules (issue 6 item 5): no activation link the holder could not use. A young pupil is
            # given access by a parent (family page) or by the school; the requester is told so.
            _tell(item, _("Your school approved your SchoolID request"),
                  _("Your school approved your request. A parent gives you access from their family page in SchoolID, "
                    "or your school gives you a one-time password."))
            record_event("access_request.approved", "success", actor=actor, target=account, request=request, org_unit=item.school,
                         detail={"request": item.pk, "activation_link": False, "reason": refusal})
            return
        if item.email and not person.email:
            offer_email(person.pk, item.email)
        now = timezone.now()
        flow = kernel.start(Flow.Kind.ACTIVATION, Flow.State.LINK_SENT, account=account, identifier_key=f"access_request:{item.pk}",
                            expires_at=now + datetime.timedelta(seconds=links.link_seconds()))
        token = links.issue(flow, PURPOSE, flow.expires_at)
        link = f"{settings.BASE_URL}/activate/{token}/"
        _tell(item, _("Your school approved your SchoolID request"),
              _("Your school approved your request. Set your password here (the link works once, for a limited time): %(link)s") % {"link": link})
        record_event("access_request.approved", "success", actor=actor, target=account, request=request, org_unit=item.school, detail={"request": item.pk})


def reject(actor: Account, item: AccessRequest, reason: str, *, request=None) -> None:
    _check_reviewer(actor, item, request)
    reason = reason.strip()[:300]
    if not reason:
        raise RegisterError("reason", _("Give a reason; the requester will read it."))
    with transaction.atomic():
        if AccessRequest.objects.filter(pk=item.pk, status=AccessRequest.Status.PENDING).update(
            status=AccessRequest.Status.REJECTED, reason=reason, decided_by=actor, decided_at=timezone.now()
        ) != 1:
            raise RegisterError("status", _("This request was already answered."))
        _tell(item, _("Your SchoolID request was not approved"), _("Your school did not approve your request. The reason given: %(reason)s") % {"reason": reason})
        record_event("access_request.rejected", "success", actor=actor, request=request, org_unit=item.school, detail={"request": item.pk})
