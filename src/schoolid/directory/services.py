"""Writes to the register. Every check on register data lives here."""
from __future__ import annotations

import copy
import datetime
import hashlib
import re
import unicodedata
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
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


# --- register editing by staff (issue 5, item 6) ----------------------------------------------
# Identity fields come from the school register when the person has a sourced_id: the register wins
# for them at the next sync, so they are refused here for such people (correct them in the register).
# Contact fields may always be edited: a local edit wins over the register while it is newer
# (Person.email_edited_at / mobile_edited_at).
IDENTITY_FIELDS = ("national_id", "given_name", "family_name", "given_name_latin", "family_name_latin", "birth_date")
CONTACT_FIELDS = ("email", "mobile")
REGISTER_FIELDS = IDENTITY_FIELDS + CONTACT_FIELDS
_NAME_MAX = 100
_EMAIL_MAX = 254
_FIELD_LABELS = {
    "national_id": _("national ID"),
    "given_name": _("given name"),
    "family_name": _("family name"),
    "given_name_latin": _("given name (Latin)"),
    "family_name_latin": _("family name (Latin)"),
    "birth_date": _("birth date"),
    "email": _("e-mail"),
    "mobile": _("mobile"),
}


class RegisterEditError(RegisterError):
    """An edit refused field by field; nothing was written. `errors` maps each field (or "record" for
    the record as a whole) to a translatable message; `field`/`message` are the first of them."""

    def __init__(self, errors: dict):
        field, message = next(iter(errors.items()))
        super().__init__(field, message)
        self.errors = errors


@dataclass
class EditResult:
    changed: list[str]  # field names, in REGISTER_FIELDS order; empty when the submit changed nothing
    event: object | None  # the audit event, or None when nothing changed (a repeated submit)


def register_owns_identity(person: Person) -> bool:
    """Whether the person's identity fields come from the school register (and are read-only here)."""
    return bool(person.sourced_id)


def record_version(person: Person) -> str:
    """A short digest of the editable fields as stored, carried by the edit form and the API, so an
    edit made on data someone else changed in the meantime is caught instead of overwriting it."""
    values = [str(getattr(person, name) or "") for name in REGISTER_FIELDS] + [str(person.email_verified), str(person.mobile_verified)]
    return hashlib.sha256("\x1f".join(values).encode()).hexdigest()[:16]


def mask_email(value: str) -> str:
    """"m***@example.org": enough for an audit reader to recognise, not to read."""
    if not value:
        return ""
    local, _at, domain = value.partition("@")
    return f"{local[:1]}***@{domain}"


def mask_phone(value: str) -> str:
    """"+98*******67"."""
    if not value:
        return ""
    return value[:3] + "*" * max(0, len(value) - 5) + value[-2:]


def parse_birth_date(raw) -> datetime.date | None:
    """A birth date typed as year-month-day in any digits ("۱۳۹۰" is not a Gregorian year, but
    "۲۰۱۲-۰۹-۲۱" is 2012-09-21), or a date object; None for empty; RegisterError otherwise."""
    if raw is None or isinstance(raw, datetime.date):
        value = raw
    else:
        text = clean_text(str(raw))
        if not text:
            return None
        parts = re.split(r"[-/.\s]+", text)
        if len(parts) != 3 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4:
            raise RegisterError("birth_date", _("Enter the date as year-month-day, for example 2012-09-21."))
        try:
            value = datetime.date(int(parts[0]), int(parts[1]), int(parts[2]))
        except ValueError as exc:
            raise RegisterError("birth_date", _("This date does not exist.")) from exc
    if isinstance(value, datetime.datetime):
        value = value.date()
    if value is not None:
        if value > timezone.localdate():
            raise RegisterError("birth_date", _("The birth date is in the future."))
        if value.year < 1900:
            raise RegisterError("birth_date", _("The birth date is too far in the past."))
    return value


def _clean_name(field: str, raw, *, required: bool, latin: bool) -> str:
    value = clean_text("" if raw is None else str(raw))
    if required and not value:
        raise RegisterError(field, _("The name is empty."))
    if len(value) > _NAME_MAX:
        raise RegisterError(field, _("The name is too long: at most %(n)d characters.") % {"n": _NAME_MAX})
    if latin and any(ch.isalpha() and not unicodedata.name(ch, "").startswith("LATIN") for ch in value):
        raise RegisterError(field, _("Use Latin letters only."))
    return value


def _normalized(person: Person, field: str, raw):
    """The value to store for `field`, or RegisterError; checks that need no other row."""
    if isinstance(raw, str) and len(raw) > 300:
        raise RegisterError(field, _("The value is too long."))
    if field == "national_id":
        return normalize_national_id_for_profile("" if raw is None else str(raw), person.national_id_scheme)[1]
    if field in ("given_name", "family_name"):
        return _clean_name(field, raw, required=True, latin=False)
    if field in ("given_name_latin", "family_name_latin"):
        return _clean_name(field, raw, required=False, latin=True)
    if field == "birth_date":
        return parse_birth_date(raw)
    if field == "email":
        value = normalize_email("" if raw is None else str(raw))
        if len(value) > _EMAIL_MAX:
            raise RegisterError("email", _("This is not a valid e-mail address."))
        return value
    if field == "mobile":
        return normalize_mobile("" if raw is None else str(raw))
    raise RegisterError(field, _("This field cannot be changed here."))


def _diff(person: Person, changes) -> tuple[dict, dict]:
    """(values that differ from what is stored, errors by field) for the fields in `changes`."""
    values: dict = {}
    errors: dict = {}
    for name in REGISTER_FIELDS:
        if name not in changes:
            continue
        try:
            value = _normalized(person, name, changes[name])
        except RegisterError as exc:
            errors[name] = exc.message
            continue
        if value != getattr(person, name):
            values[name] = value
    return values, errors


def pending_changes(person: Person, changes) -> list[str]:
    """The register fields in `changes` whose typed value differs from what is stored (bad values left out)."""
    return list(_diff(person, changes)[0])


@dataclass
class PersonUpdate:
    changed: list[str]  # in REGISTER_FIELDS order; empty when nothing changed
    values: dict  # the new values of the changed fields
    before: Person | None  # the record as it was, for telling the old contacts
    person: Person


def update_person(person_id: int, changes, *, identity_allowed: bool = True, version: str | None = None) -> PersonUpdate:
    """Write register data of one person; the caller has decided who may (console.services.edit_person).

    `changes` maps REGISTER_FIELDS to what was typed (any digit script); fields left out stay. Every
    field is checked before anything is written: one bad field refuses the whole change with
    RegisterEditError (every bad field named). Without `identity_allowed` only e-mail and mobile may
    change. A changed e-mail or mobile becomes unverified and its edited_at is set. The same values
    again change nothing. Runs in the caller's transaction when there is one."""
    unknown = [name for name in changes if name not in REGISTER_FIELDS]
    if unknown:
        raise RegisterEditError({name: _("This field cannot be changed here.") for name in unknown})
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person_id)
        values, errors = _diff(person, changes)
        changed_identity = [name for name in IDENTITY_FIELDS if name in values]
        if changed_identity and not identity_allowed:
            # Changed by someone else since the caller's check: still only contact rights.
            for name in changed_identity:
                errors.setdefault(name, _("You may change only the e-mail and the mobile number."))
        if changed_identity and register_owns_identity(person):
            for name in changed_identity:
                errors.setdefault(name, _("This comes from the school register: correct it there."))
        if "national_id" in values and "national_id" not in errors:
            if Person.objects.filter(national_id_scheme=person.national_id_scheme, national_id=values["national_id"]).exclude(pk=person.pk).exists():
                errors["national_id"] = _("A person with this national ID is already in the register.")
        if not errors and ("national_id" in values or "birth_date" in values):
            national_id = values.get("national_id", person.national_id)
            birth = values.get("birth_date", person.birth_date)
            from_id = SCHEMES[person.national_id_scheme].birth_date(national_id)
            if from_id and birth and from_id != birth:
                errors["birth_date" if "birth_date" in values else "national_id"] = _("The birth date does not match the national ID.")
            elif from_id and birth is None:
                values["birth_date"] = from_id  # the number says it; a cleared date comes back
                if from_id == person.birth_date:
                    del values["birth_date"]
        if errors:
            raise RegisterEditError(errors)
        if not values:
            return PersonUpdate([], {}, None, person)
        if version and version != record_version(person):
            raise RegisterEditError({"record": _("Someone else changed this record after you opened it. Check the values and save again.")})
        before = copy.copy(person)
        now = timezone.now()
        fields = set(values) | {"updated_at"}
        for name, value in values.items():
            setattr(person, name, value)
        if "email" in values:
            person.email_verified, person.email_edited_at = False, now
            fields |= {"email_verified", "email_edited_at"}
        if "mobile" in values:
            person.mobile_verified, person.mobile_edited_at = False, now
            fields |= {"mobile_verified", "mobile_edited_at"}
        try:
            with transaction.atomic():
                person.save(update_fields=sorted(fields))
        except IntegrityError as exc:
            # Another edit took the number between the check and the write.
            raise RegisterEditError({"national_id": _("A person with this national ID is already in the register.")}) from exc
    return PersonUpdate([name for name in REGISTER_FIELDS if name in values], values, before, person)


def set_verified_contact(person_id: int, *, email: str | None = None, mobile: str | None = None) -> None:
    """A contact the person proved (a code or a link): stored as verified, its edited_at set now.
    `None` leaves a contact as it is."""
    now = timezone.now()
    values: dict = {}
    if email is not None:
        values.update(email=email, email_verified=True, email_edited_at=now)
    if mobile is not None:
        values.update(mobile=mobile, mobile_verified=True, mobile_edited_at=now)
    if values:
        Person.objects.filter(pk=person_id).update(**values)


def offer_email(person_id: int, email: str) -> None:
    """An address someone gave for a person without one (an access request): stored, not verified."""
    Person.objects.filter(pk=person_id).update(email=email, email_verified=False)


def mark_email_verified(person_id: int) -> None:
    """The person used a link sent to their stored address: it is a verified contact point now."""
    Person.objects.filter(pk=person_id).update(email_verified=True)


# --- Erasure (the privacy app decides when; the register's own rows are changed only here). ---

ERASED_NAME = "—"


def is_erased(person: Person) -> bool:
    """Erased people keep a keyed hash of their national ID, which starts with "#" (no scheme does)."""
    return person.national_id.startswith("#")


@transaction.atomic
def erase_person(person: Person, *, national_id_token: str) -> Person:
    """Replace a person's personal fields: names, birth date and contacts go, the national ID becomes
    `national_id_token` (a keyed hash, so a returning person can be recognised without the number),
    open guardian links end and access requests they made lose their details. The row itself stays
    (accounts, links and history point at it)."""
    if not national_id_token.startswith("#") or len(national_id_token) > 32:
        raise ValueError("the national ID token must be a keyed hash starting with '#'")
    from schoolid.directory.models import AccessRequest

    now = timezone.now()
    AccessRequest.objects.filter(national_id_scheme=person.national_id_scheme, national_id=person.national_id).update(
        national_id=national_id_token, given_name=ERASED_NAME, family_name="", email="", mobile="")
    AccessRequest.objects.filter(matched_person=person).update(given_name=ERASED_NAME, family_name="", email="", mobile="",
                                                               national_id=national_id_token)
    from django.db.models import Q

    Guardianship.objects.filter(Q(guardian=person) | Q(student=person), status__in=[Guardianship.Status.PROPOSED, Guardianship.Status.CONFIRMED]).update(
        status=Guardianship.Status.ENDED, decided_at=now)
    person.national_id = national_id_token
    person.given_name, person.family_name = ERASED_NAME, ""
    person.given_name_latin = person.family_name_latin = ""
    person.birth_date = None
    person.email, person.email_verified, person.email_edited_at = "", False, None
    person.mobile, person.mobile_verified, person.mobile_edited_at = "", False, None
    person.sourced_id = None
    person.save()
    return person


def mask_national_id(value: str) -> str:
    """"••••••6621": tells two pupils of a class apart without disclosing the number (least disclosure)."""
    if not value:
        return ""
    return "•" * max(0, len(value) - 4) + value[-4:]
