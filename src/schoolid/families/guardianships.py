"""Guardian links proposed by staff and answered by the parent (seed 004: Dnevnik.ru's relationship
requests). Links from the register arrive confirmed (see services.link_guardian); staff may end a link.
A parent has one profile for all children, across schools."""
from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from schoolid.accounts.models import Account, Role, RoleAssignment
from schoolid.accounts.scope import Action, is_young
from schoolid.accounts.services import assign_role, authorize
from schoolid.audit.services import record_event
from schoolid.directory.models import Guardianship
from schoolid.directory.services import RegisterError


def _student_school(student: Account):
    for assignment in RoleAssignment.objects.current().filter(account=student, role=Role.STUDENT).select_related("org_unit__parent"):
        unit = assignment.org_unit
        return unit.parent if unit.kind == "class" and unit.parent else unit
    return None


def propose(actor: Account, *, guardian: Account, student: Account, request=None) -> Guardianship:
    """A class teacher or school admin proposes; the parent is told and answers later."""
    from schoolid.notify.services import notify_person

    authorize(actor, Action.PROPOSE_GUARDIANSHIP, student, request=request)
    if guardian.person_id is None or student.person_id is None or guardian.pk == student.pk:
        raise RegisterError("guardian", _("This person cannot be linked as a parent of this pupil."))
    with transaction.atomic():
        if Guardianship.objects.filter(guardian_id=guardian.person_id, student_id=student.person_id, status__in=["proposed", "confirmed"]).exists():
            raise RegisterError("guardian", _("This link already exists or is waiting for the parent's answer."))
        link = Guardianship.objects.create(guardian_id=guardian.person_id, student_id=student.person_id, status=Guardianship.Status.PROPOSED,
                                           source=Guardianship.Source.STAFF, proposed_by=actor)
        event = record_event("guardianship.proposed", "success", actor=actor, target=guardian, request=request, detail={"student": student.user_code, "link": link.pk})
        notify_person(
            guardian.person,
            purpose="guardianship.proposed",
            subject=_("Your school asks you to confirm a child"),
            text=_("A school asks you to confirm that you are the parent or guardian of a pupil. Sign in to SchoolID and open My account → Family to confirm or reject it."),
            dedupe_key=f"guardianship.proposed:{event.pk}",
            language=guardian.preferred_language or None,
        )
    return link


def pending_for(guardian: Account):
    return Guardianship.objects.filter(guardian_id=guardian.person_id, status=Guardianship.Status.PROPOSED).select_related("student", "proposed_by__person")


def answer(guardian: Account, link_id: int, *, accept: bool, request=None) -> Guardianship:
    """Only the parent named in the link may answer, once."""
    link = Guardianship.objects.filter(pk=link_id).select_related("student").first()
    if link is None or guardian.person_id is None or link.guardian_id != guardian.person_id:
        record_event("guardianship.answer", "denied", actor=guardian, request=request, detail={"link": link_id, "reason": "not_your_link"})
        raise PermissionError("not your link")
    with transaction.atomic():
        status = Guardianship.Status.CONFIRMED if accept else Guardianship.Status.REJECTED
        if Guardianship.objects.filter(pk=link.pk, status=Guardianship.Status.PROPOSED).update(status=status, decided_at=timezone.now()) != 1:
            raise RegisterError("guardian", _("This request was already answered."))
        student = Account.objects.filter(person_id=link.student_id).first()
        if accept and student is not None:
            school = _student_school(student)
            if school is not None:
                assign_role(guardian, Role.GUARDIAN, school, source=RoleAssignment.Source.STAFF)
        record_event("guardianship.confirmed" if accept else "guardianship.rejected", "success", actor=guardian, target=guardian, request=request,
                     detail={"link": link.pk, "student": student.user_code if student else ""})
    link.status = status
    return link


def end(actor: Account, link: Guardianship, *, request=None) -> None:
    """Staff end a link (a parent cannot end it alone); audited."""
    student = Account.objects.filter(person_id=link.student_id).first()
    if student is None:
        raise RegisterError("student", _("The pupil has no account."))
    authorize(actor, Action.EDIT_REGISTER, student, request=request)
    Guardianship.objects.filter(pk=link.pk, status__in=["proposed", "confirmed"]).update(status=Guardianship.Status.ENDED, decided_at=timezone.now())
    record_event("guardianship.ended", "success", actor=actor, target=student, request=request, detail={"link": link.pk})


def children_of(guardian: Account):
    """The parent's confirmed children with their accounts and places, across schools."""
    from schoolid.core.profiles import current_profile

    profile = current_profile()
    links = Guardianship.objects.filter(guardian_id=guardian.person_id, status=Guardianship.Status.CONFIRMED).select_related("student")
    children = []
    for link in links:
        account = Account.objects.filter(person_id=link.student_id).first()
        klass = RoleAssignment.objects.current().filter(account=account, role=Role.STUDENT).select_related("org_unit__parent").first() if account else None
        children.append({"person": link.student, "account": account, "class": klass.org_unit if klass else None,
                         "may_reset": bool(account) and profile.parent_may_reset_young_child and is_young(link.student, profile),
                         "young": is_young(link.student, profile),
                         "school": (klass.org_unit.parent if klass and klass.org_unit.kind == "class" else klass.org_unit if klass else None)})
    return children
