"""Staff changes to the register: the console decides with the scope rule, then the register writes."""
from __future__ import annotations

from django.db import transaction
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from schoolid.accounts.scope import Action, decide
from schoolid.accounts.services import authorize
from schoolid.audit.services import record_event
from schoolid.directory.models import Person
from schoolid.directory.services import (
    _FIELD_LABELS,
    IDENTITY_FIELDS,
    REGISTER_FIELDS,
    EditResult,
    RegisterEditError,
    mask_email,
    mask_phone,
    pending_changes,
    update_person,
)


def _changed_notice(fields: list[str]):
    """The notice text, translated when the outbox renders it in the recipient's language."""

    def render() -> str:
        names = ", ".join(str(_FIELD_LABELS[f]) for f in fields)
        return str(_("Your school changed these details of your SchoolID account: %(fields)s. If you did not expect this, contact your school.")) % {"fields": names}

    return lazy(render, str)()


def edit_person(actor, target, changes, *, request=None, version: str | None = None) -> EditResult:
    """Staff change register data of `target` (an Account with a person), through the scope rule.

    Changing an identity field needs EDIT_REGISTER, changing only e-mail and mobile needs EDIT_CONTACT;
    a refusal is audited and raised as ScopeDenied. The write and its checks are
    directory.services.update_person. One audit event lists the changed fields (contact values
    masked); the old verified contacts are told of a contact or national ID change."""
    from schoolid.notify.services import notify_person

    unknown = [name for name in changes if name not in REGISTER_FIELDS]
    if unknown:
        raise RegisterEditError({name: _("This field cannot be changed here.") for name in unknown})
    if target.person_id is None:
        raise RegisterEditError({"record": _("This account has no register record.")})
    # Scope first, before any check could tell an outsider something about the register. Refusals
    # are audited by authorize, outside the write transaction so that the audit event stays.
    decision = decide(actor, Action.EDIT_REGISTER, target)
    full = decision.allowed
    if not full:
        decision = decide(actor, Action.EDIT_CONTACT, target)
        if not decision.allowed:
            authorize(actor, Action.EDIT_REGISTER if any(n in IDENTITY_FIELDS for n in changes) else Action.EDIT_CONTACT, target, request=request)
        # Only contact rights: an identity field that would really change needs EDIT_REGISTER.
        if any(n in IDENTITY_FIELDS for n in pending_changes(Person.objects.get(pk=target.person_id), changes)):
            authorize(actor, Action.EDIT_REGISTER, target, request=request)
    action = Action.EDIT_REGISTER if full else Action.EDIT_CONTACT
    with transaction.atomic():
        update = update_person(target.person_id, changes, identity_allowed=full, version=version)
        if not update.changed:
            return EditResult([], None)
        values, changed = update.values, update.changed
        detail: dict = {"fields": changed, "action": str(action), "via": decision.via.role if decision.via else ""}
        if "email" in values:
            detail["email"] = mask_email(values["email"])
        if "mobile" in values:
            detail["mobile"] = mask_phone(values["mobile"])
        event = record_event("register.edited", "success", actor=actor, target=target, org_unit=decision.via.org_unit if decision.via else None,
                             request=request, detail=detail)
        told = [name for name in changed if name in ("national_id", "email", "mobile")]
        if told:
            notify_person(update.before, purpose="register.edited", subject=_("Your SchoolID details were changed"), text=_changed_notice(told),
                          dedupe_key=f"register.edited:{event.pk}", language=target.preferred_language or None)
    target.person = update.person
    return EditResult(changed, event)


def edit_contact(actor, target, *, email=None, mobile=None, request=None, version: str | None = None) -> EditResult:
    """Only the e-mail and the mobile number (a class teacher filling in what is missing); `None`
    leaves a field as it is, "" clears it. Needs EDIT_CONTACT; see edit_person for the rest."""
    changes = {name: value for name, value in (("email", email), ("mobile", mobile)) if value is not None}
    return edit_person(actor, target, changes, request=request, version=version)
