"""Writes to the register. Every check on register data lives here."""
from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from schoolid.core.digits import clean_text
from schoolid.core.profiles import current_profile
from schoolid.directory.models import Guardianship, OrgUnit, Person
from schoolid.directory.national_ids import SCHEMES, InvalidNationalId
from schoolid.directory.phones import InvalidPhone, normalize_phone


class RegisterError(ValueError):
    """A register write was refused; `field` names the input, `message` says why in the user's language."""

    def __init__(self, field: str, message):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def _path_segment(pk: int) -> str:
    return f"{pk:x}/"


@transaction.atomic
def create_org_unit(*, kind: str, code: str, name: str, parent: OrgUnit | None, name_latin: str = "", sourced_id: str | None = None) -> OrgUnit:
    allowed = OrgUnit.ALLOWED_PARENTS[OrgUnit.Kind(kind)]
    parent_kind = parent.kind if parent else None
    if parent_kind not in allowed:
        raise RegisterError("parent", _("A %(kind)s cannot be placed under a %(parent)s.") % {"kind": kind, "parent": parent_kind or "-"})
    code = clean_text(code)
    if not code:
        raise RegisterError("code", _("The code is empty."))
    unit = OrgUnit(kind=kind, code=code, name=clean_text(name), name_latin=clean_text(name_latin), parent=parent, sourced_id=sourced_id)
    unit.path = f"tmp:{code}"
    unit.save()
    unit.path = (parent.path if parent else "/") + _path_segment(unit.pk)
    unit.depth = (parent.depth + 1) if parent else 0
    OrgUnit.objects.filter(pk=unit.pk).update(path=unit.path, depth=unit.depth)
    return unit


def normalize_national_id_for_profile(raw: str, scheme_code: str | None = None) -> tuple[str, str]:
    """(scheme, canonical number) or RegisterError with the scheme's reason."""
    scheme = SCHEMES[scheme_code or current_profile().national_id_scheme]
    try:
        return scheme.code, scheme.normalize(raw)
    except InvalidNationalId as exc:
        raise RegisterError("national_id", exc.message) from exc


# A strict subset of what Django's EmailValidator accepts (dot-atom local part, LDH domain labels):
# addresses it matches need no further check, which matters when an import reads a million of them.
_PLAIN_EMAIL = re.compile(r"[a-z0-9_%+-]+(?:\.[a-z0-9_%+-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def normalize_email(raw: str) -> str:
    value = clean_text(raw)
    if not value:
        return ""
    # Stored lower-case: mail systems treat addresses case-insensitively in practice, and an exact
    # match keeps the look-up on the index.
    value = value.lower()
    if len(value) <= 254 and _PLAIN_EMAIL.fullmatch(value):
        return value
    try:
        validate_email(value)
    except ValidationError as exc:
        raise RegisterError("email", _("This is not a valid e-mail address.")) from exc
    return value


def normalize_mobile(raw: str) -> str:
    if not clean_text(raw):
        return ""
    try:
        return normalize_phone(raw, current_profile().phone_region)
    except InvalidPhone as exc:
        raise RegisterError("mobile", exc.message) from exc


@dataclass
class PersonInput:
    national_id: str
    given_name: str
    family_name: str
    given_name_latin: str = ""
    family_name_latin: str = ""
    birth_date: datetime.date | None = None
    email: str = ""
    email_verified: bool = False
    mobile: str = ""
    mobile_verified: bool = False
    sourced_id: str | None = None


def build_person(data: PersonInput, scheme_code: str | None = None) -> Person:
    """Validate and normalise a person without saving it."""
    scheme, national_id = normalize_national_id_for_profile(data.national_id, scheme_code)
    given, family = clean_text(data.given_name), clean_text(data.family_name)
    if not given or not family:
        raise RegisterError("given_name" if not given else "family_name", _("The name is empty."))
    person = Person(
        national_id_scheme=scheme,
        national_id=national_id,
        given_name=given,
        family_name=family,
        given_name_latin=clean_text(data.given_name_latin),
        family_name_latin=clean_text(data.family_name_latin),
        birth_date=data.birth_date,
        email=normalize_email(data.email),
        email_verified=bool(data.email) and data.email_verified,
        mobile=normalize_mobile(data.mobile),
        mobile_verified=bool(data.mobile) and data.mobile_verified,
        sourced_id=data.sourced_id,
    )
    birth_from_id = SCHEMES[scheme].birth_date(national_id)
    if birth_from_id and person.birth_date and birth_from_id != person.birth_date:
        raise RegisterError("birth_date", _("The birth date does not match the national ID."))
    person.birth_date = person.birth_date or birth_from_id
    person.refresh_search_name()
    return person


@transaction.atomic
def register_person(data: PersonInput, scheme_code: str | None = None) -> Person:
    person = build_person(data, scheme_code)
    if Person.objects.filter(national_id_scheme=person.national_id_scheme, national_id=person.national_id).exists():
        raise RegisterError("national_id", _("A person with this national ID is already in the register."))
    person.save()
    return person


@transaction.atomic
def link_guardian(*, guardian: Person, student: Person, source: str, proposed_by=None) -> Guardianship:
    """Links from the register arrive confirmed; other links wait for the guardian's answer."""
    if guardian.pk == student.pk:
        raise RegisterError("guardian", _("A person cannot be their own guardian."))
    status = Guardianship.Status.CONFIRMED if source == Guardianship.Source.REGISTER else Guardianship.Status.PROPOSED
    link, _created = Guardianship.objects.get_or_create(
        guardian=guardian,
        student=student,
        status__in=[Guardianship.Status.PROPOSED, Guardianship.Status.CONFIRMED],
        defaults={"status": status, "source": source, "proposed_by": proposed_by},
    )
    return link
