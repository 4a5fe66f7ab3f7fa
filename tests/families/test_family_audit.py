"""Audit of issue 6's refusals (security requirements §8: ASVS v5 16.3.1–16.3.3, 16.2.1 — who, what,
target, result, UTC time, source IP and request ID; and §7: ASVS v5 8.2.2, 8.4.1 — actions scoped by
data). Already covered elsewhere: tests/console/test_guardian_links.py (proposal outside scope, answering
someone else's link) and tests/flows/test_registration.py (duplicate registration)."""
import datetime

import pytest
from django.test import Client
from django.utils import timezone

from schoolid.audit.models import AuditEvent
from schoolid.core.profiles import load_profile
from schoolid.credentials.models import IssuedSecret
from schoolid.directory.models import Guardianship
from schoolid.directory.services import link_guardian
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "maple river lantern quietly"


def assert_complete(event, *, actor=None, target=None):
    """Every field of ASVS v5 16.2.1 is there."""
    assert event.action and event.result == "denied"
    assert event.at is not None and abs((timezone.now() - event.at).total_seconds()) < 120
    assert event.ip == "127.0.0.1" and event.request_id
    if actor is not None:
        assert event.actor == actor.user_code
    if target is not None:
        assert event.target == target.user_code


def test_a_link_proposed_outside_the_proposers_scope_is_refused_and_audited():
    """ASVS v5 8.2.2, 8.4.1, 16.3.2: a class teacher of another class proposes a parent for a pupil: 403,
    no link, one complete scope.denied event."""
    t = f.org_tree()
    outsider = f.account("class_teacher", t["class_b1"])
    pupil = f.account("student", t["class_a1"])
    parent = f.account()
    f.activate(outsider)
    response = f.staff_client(outsider).post(f"/console/people/{pupil.user_code}/guardians/", {"national_id": parent.person.national_id})
    assert response.status_code == 403 and not Guardianship.objects.exists()
    event = AuditEvent.objects.get(action="scope.denied")
    assert_complete(event, actor=outsider, target=pupil)
    assert event.detail["action"] == "propose_guardianship" or "guardian" in event.detail["action"]


def test_a_parent_acting_on_a_child_not_theirs_is_refused_and_audited(settings):
    """ASVS v5 8.2.2, 16.3.2; NIST §4.2.1.3: a parent resets only their own young child. Someone else's
    child, or a child whose link was only proposed or was rejected: 403, nothing issued, audited."""
    settings.SCHOOLID_PROFILE = load_profile("ru")
    t = f.org_tree()
    young = timezone.localdate() - datetime.timedelta(days=365 * 9)
    parent = f.account(password=PASSWORD)
    f.activate(parent)
    stranger_child = f.account("student", t["class_a1"], birth_date=young)
    proposed_child = f.account("student", t["class_a1"], birth_date=young)
    rejected_child = f.account("student", t["class_a2"], birth_date=young)
    link_guardian(guardian=parent.person, student=proposed_child.person, source="staff")
    rejected = link_guardian(guardian=parent.person, student=rejected_child.person, source="staff")
    Guardianship.objects.filter(pk=rejected.pk).update(status="rejected")
    client = Client()
    assert client.post("/signin/", {"identifier": parent.user_code, "password": PASSWORD})["Location"] == "/account/"
    for child in (stranger_child, proposed_child, rejected_child):
        response = client.post(f"/account/family/{child.user_code}/reset/")
        assert response.status_code == 403
    assert not IssuedSecret.objects.exists()
    events = AuditEvent.objects.filter(action="scope.denied", actor=parent.user_code).order_by("at")
    assert events.count() == 3
    for event, child in zip(events, (stranger_child, proposed_child, rejected_child)):
        assert_complete(event, actor=parent, target=child)
        assert event.detail == {"action": "credentials.parent_reset", "reason": "not_your_child"}


def test_a_parent_cannot_answer_a_link_that_names_someone_else():
    """ASVS v5 8.2.2, 16.3.2: a proposed link answered by another parent: 403, unchanged, audited."""
    t = f.org_tree()
    pupil = f.account("student", t["class_a1"])
    parent, intruder = f.account(), f.account(password=PASSWORD)
    f.activate(intruder)
    link = link_guardian(guardian=parent.person, student=pupil.person, source="staff")
    client = Client()
    client.post("/signin/", {"identifier": intruder.user_code, "password": PASSWORD})
    assert client.post("/account/family/", {"link": link.pk, "answer": "reject"}).status_code == 403
    link.refresh_from_db()
    assert link.status == "proposed"
    event = AuditEvent.objects.get(action="guardianship.answer")
    assert_complete(event, actor=intruder)
    assert event.detail["reason"] == "not_your_link"


def test_a_duplicate_registration_is_audited_completely(settings):
    """ASVS v5 6.3.8, 16.3.1: the second registration with a national ID is one complete event on the
    owner's account, with the reason, and no personal data of the attempt in it."""
    import re

    from schoolid.notify.models import OutboxMessage

    settings.SCHOOLID_PROFILE = load_profile("il")
    owner = f.account(password=PASSWORD, email="owner@example.org", email_verified=True)
    f.activate(owner)
    client = Client()
    client.post("/register/", {"national_id": owner.person.national_id, "given_name": "X", "family_name": "Y", "birth_date": "1980-01-01"})
    client.post("/register/contact/", {"email": "attempt@example.org", "mobile": "050-234-5678"})

    def code(purpose):
        return re.search(r"\b\d{6}\b", OutboxMessage.objects.get(purpose=purpose).body).group(0)

    client.post("/register/codes/", {"email_code": code("registration.email_code"), "mobile_code": code("registration.sms_code")})
    event = AuditEvent.objects.get(action="registration.duplicate")
    assert_complete(event, target=owner)
    assert event.detail["reason"] == "account_in_use" and "attempt@example.org" not in str(event.detail)
