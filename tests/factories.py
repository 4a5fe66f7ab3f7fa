"""Test data built through the real services, so tests exercise the same checks as production."""
import datetime
import itertools
import random

from django.conf import settings

from schoolid.accounts.services import assign_role, create_account, set_password
from schoolid.directory.national_ids import SCHEMES
from schoolid.directory.services import PersonInput, create_org_unit, link_guardian, register_person

_counter = itertools.count(1)
_rng = random.Random(20261123)


def org_tree():
    """ministry → region → district → cluster → 2 schools → 2 classes each; a second district too."""
    n = next(_counter)
    ministry = create_org_unit(kind="ministry", code=f"M{n}", name="Ministry", parent=None)
    region = create_org_unit(kind="region", code=f"R{n}", name="Region", parent=ministry)
    district = create_org_unit(kind="district", code=f"D{n}", name="District", parent=region)
    cluster = create_org_unit(kind="cluster", code=f"C{n}", name="Cluster", parent=district)
    school_a = create_org_unit(kind="school", code=f"SA{n}", name="School A", parent=cluster)
    school_b = create_org_unit(kind="school", code=f"SB{n}", name="School B", parent=cluster)
    class_a1 = create_org_unit(kind="class", code=f"SA{n}-1", name="1A", parent=school_a)
    class_a2 = create_org_unit(kind="class", code=f"SA{n}-2", name="2A", parent=school_a)
    class_b1 = create_org_unit(kind="class", code=f"SB{n}-1", name="1B", parent=school_b)
    district2 = create_org_unit(kind="district", code=f"D{n}x", name="District 2", parent=region)
    school_c = create_org_unit(kind="school", code=f"SC{n}", name="School C", parent=district2)
    class_c1 = create_org_unit(kind="class", code=f"SC{n}-1", name="1C", parent=school_c)
    return {
        "ministry": ministry, "region": region, "district": district, "cluster": cluster,
        "school_a": school_a, "school_b": school_b, "class_a1": class_a1, "class_a2": class_a2,
        "class_b1": class_b1, "district2": district2, "school_c": school_c, "class_c1": class_c1,
    }


def _free_national_id(scheme, birth):
    from schoolid.directory.models import Person

    while True:
        candidate = scheme.generate(_rng, birth_date=birth)
        if not Person.objects.filter(national_id_scheme=scheme.code, national_id=candidate).exists():
            return candidate


def person(**overrides):
    scheme = SCHEMES[settings.SCHOOLID_PROFILE.national_id_scheme]
    birth = overrides.pop("birth_date", None) or datetime.date(2008, 1, 1) + datetime.timedelta(days=_rng.randrange(3000))
    data = PersonInput(
        national_id=overrides.pop("national_id", None) or _free_national_id(scheme, birth),
        given_name=overrides.pop("given_name", f"Given{next(_counter)}"),
        family_name=overrides.pop("family_name", "Family"),
        birth_date=birth,
        **overrides,
    )
    return register_person(data)


def account(role=None, unit=None, *, password=None, **person_fields):
    acc = create_account(person(**person_fields))
    if role:
        assign_role(acc, role, unit)
    if password:
        set_password(acc, password)
    return acc


def guardian_of(student_account, *, source="register", unit=None):
    guardian = account("guardian", unit) if unit else account()
    link_guardian(guardian=guardian.person, student=student_account.person, source=source)
    return guardian


def activate(*accounts):
    from schoolid.accounts.models import Account

    Account.objects.filter(pk__in=[a.pk for a in accounts]).update(status="active")
    for a in accounts:
        a.status = "active"


def staff_client(account, client=None):
    """A test client signed in as `account` after password and second factor."""
    import time

    from django.test import Client

    client = client or Client()
    client.force_login(account, backend="schoolid.accounts.backends.AccountBackend")
    session = client.session
    now = int(time.time())
    session.update({"amr": ["pwd", "totp"], "auth_at": now, "seen_at": now})
    session.save()
    return client


def enrol_totp(account):
    """A confirmed TOTP device; returns its seed."""
    from django.utils import timezone

    from schoolid.credentials import totp
    from schoolid.credentials.models import TotpDevice

    device = totp.start_enrolment(account)
    TotpDevice.objects.filter(pk=device.pk).update(confirmed_at=timezone.now())
    return totp.seed_of(device)
