"""Subject access (issue 15): an export holds every category and nothing about other people; the
person, a guardian of a young child and staff in scope get it, audited; others are refused.
Requirement IDs: ASVS v5 14.2.6 (least data returned), 14.3.x (sensitive data not cached), 16.2.1 (audited)."""
import datetime
import json

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from schoolid.audit.models import AuditEvent
from schoolid.audit.services import record_event
from schoolid.directory.models import AccessRequest
from schoolid.flows.models import Flow
from schoolid.notify.services import enqueue
from schoolid.privacy import selectors
from schoolid.provisioning.models import RegisterRecord
from tests import factories as f
from tests.pdf_tools import full_text

pytestmark = pytest.mark.django_db
CATEGORIES = {"person", "contacts", "account", "roles", "guardian_links", "school_register", "sessions", "messages",
              "access_requests", "consents", "linked_providers", "audit_events"}


@pytest.fixture
def world():
    t = f.org_tree()
    young = datetime.date.today() - datetime.timedelta(days=365 * 9)
    pupil = f.account("student", t["class_a1"], birth_date=young, given_name="Sara", family_name="Karimi",
                      email="sara@example.org", mobile="+989121234567", email_verified=True)
    parent = f.account("guardian", t["school_a"], given_name="Maryam", family_name="Karimi", email="maryam@example.org",
                       mobile="+989129876543")
    from schoolid.directory.services import link_guardian

    link_guardian(guardian=parent.person, student=pupil.person, source="register")
    sibling = f.account("student", t["class_a1"], given_name="Ali", family_name="Karimi", email="ali@example.org")
    link_guardian(guardian=parent.person, student=sibling.person, source="register")
    principal = f.account("principal", t["school_a"])
    teacher = f.account("class_teacher", t["class_a1"])
    f.activate(pupil, parent, principal, teacher)
    return {"t": t, "pupil": pupil, "parent": parent, "sibling": sibling, "principal": principal, "teacher": teacher}


def signed_in(account):
    """A client signed in by password (the session carries the times the timeout middleware checks)."""
    import time

    client = Client()
    client.force_login(account, backend="schoolid.accounts.backends.AccountBackend")
    session = client.session
    session.update({"amr": ["pwd"], "auth_at": int(time.time()), "seen_at": int(time.time())})
    session.save()
    return client


def _fill_every_category(w):
    pupil = w["pupil"]
    now = timezone.now()
    Flow.objects.create(kind=Flow.Kind.RECOVERY, state=Flow.State.DONE, account=pupil, identifier_key="k", expires_at=now)
    from schoolid.accounts import sessions

    sessions.index(pupil, "k" * 32)  # signed in somewhere (the session index)
    sessions.index(w["principal"], "p" * 32)  # someone else's session: not in the pupil's export
    enqueue(channel="email", to=pupil.person.email, subject="Your code", body="code 804417", purpose="recovery", dedupe_key="x1", language="en")
    AccessRequest.objects.create(role="student", school=w["t"]["school_a"], national_id_scheme=pupil.person.national_id_scheme,
                                 national_id=pupil.person.national_id, given_name="Sara", family_name="Karimi")
    RegisterRecord.objects.create(person=pupil.person, row_hash="h", last_changed_at=now, register_email="sara@example.org")
    # Staff act on the pupil: the event names the principal and, in its detail, the sibling.
    record_event("password.reset", "success", actor=w["principal"], target=pupil,
                 detail={"reason": "forgot", "student": w["sibling"].user_code, "by_code": w["principal"].user_code})
    record_event("signin", "success", actor=pupil, target=pupil, ip="10.1.2.3", detail={"factor": "password"})


def test_export_holds_every_category_and_nothing_about_other_people(world):
    _fill_every_category(world)
    data = selectors.subject_access(world["pupil"].person)
    assert CATEGORIES <= set(data)
    for key in CATEGORIES - {"consents", "linked_providers"}:
        assert data[key], key  # each category is filled in this world
    assert data["person"]["national_id"] == world["pupil"].person.national_id
    assert data["account"]["user_code"] == world["pupil"].user_code
    assert {e["by"] for e in data["audit_events"]} == {"self", "staff"}
    assert [link["name"] for link in data["guardian_links"]["guardians"]] == ["Maryam Karimi"]
    text = json.dumps(data, ensure_ascii=False)
    others = [world["parent"], world["sibling"], world["principal"]]
    for other in others:
        for value in (other.user_code, other.person.national_id, other.person.email, other.person.mobile, str(other.person.birth_date)):
            if value:
                assert value not in text, value
    assert "Ali" not in text  # the sibling is not even named
    # Staff acted from their own address: not the pupil's data; the pupil's own sign-in address is.
    assert "10.1.2.3" in text and sum(1 for e in data["audit_events"] if e["ip"]) == 1
    from schoolid.notify.models import OutboxMessage

    assert OutboxMessage.objects.get(dedupe_key="x1").body == "code 804417"
    assert "804417" not in text  # a message's text may carry a live code
    assert len(data["sessions"]["signed_in"]) == 1 and data["sessions"]["journeys"]


def test_guardian_export_names_children_only(world):
    data = selectors.subject_access(world["parent"].person)
    assert sorted(link["name"] for link in data["guardian_links"]["children"]) == ["Ali Karimi", "Sara Karimi"]
    text = json.dumps(data, ensure_ascii=False)
    for child in (world["pupil"], world["sibling"]):
        for value in (child.user_code, child.person.national_id, child.person.email, str(child.person.birth_date)):
            assert value not in text


def test_account_page_downloads_pdf_and_json_audited(world):
    client = signed_in(world["pupil"])
    assert 'href="/account/export/"' in client.get("/account/").content.decode()
    response = client.get("/account/export/?format=json")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/json")
    assert "no-store" in response["Cache-Control"] and "attachment" in response["Content-Disposition"]
    assert json.loads(response.content)["person"]["given_name"] == "Sara"
    response = client.get("/account/export/", HTTP_ACCEPT_LANGUAGE="fa")
    assert response["Content-Type"] == "application/pdf"
    text = full_text(response.content)
    assert "Sara" in text and world["pupil"].person.national_id in text
    events = AuditEvent.objects.filter(action="privacy.exported", target_id=world["pupil"].pk)
    assert sorted(e.detail["format"] for e in events) == ["json", "pdf"]
    assert Client().get("/account/export/").status_code == 302  # signed-out: to the sign-in page


def test_guardian_downloads_a_young_childs_data_but_not_an_older_ones(world):
    client = signed_in(world["parent"])
    pupil, sibling = world["pupil"], world["sibling"]
    assert f'/account/family/{pupil.user_code}/export/' in client.get("/account/family/").content.decode()
    response = client.get(f"/account/family/{pupil.user_code}/export/?format=json")
    assert response.status_code == 200 and json.loads(response.content)["account"]["user_code"] == pupil.user_code
    event = AuditEvent.objects.get(action="privacy.exported", target_id=pupil.pk, result="success")
    assert event.actor == world["parent"].user_code and event.detail["via"] == "guardian"
    # The sibling is over the age threshold (the factory's birth dates are 2008-2016, today is later).
    sibling.person.birth_date = datetime.date.today() - datetime.timedelta(days=365 * 16)
    sibling.person.save()
    assert client.get(f"/account/family/{sibling.user_code}/export/").status_code == 403
    stranger = f.account("guardian", world["t"]["school_a"])
    f.activate(stranger)
    other = signed_in(stranger)
    assert other.get(f"/account/family/{pupil.user_code}/export/").status_code == 403
    assert AuditEvent.objects.filter(action="privacy.exported", result="denied").count() == 2


def test_staff_in_scope_export_a_person_audited_others_refused(world):
    principal = f.staff_client(world["principal"])
    pupil = world["pupil"]
    page = principal.get(f"/console/people/{pupil.user_code}/").content.decode()
    assert f"/console/people/{pupil.user_code}/export/" in page
    response = principal.get(f"/console/people/{pupil.user_code}/export/?format=json")
    assert response.status_code == 200 and json.loads(response.content)["person"]["family_name"] == "Karimi"
    assert AuditEvent.objects.filter(action="privacy.exported", actor=world["principal"].user_code, detail__via="staff").exists()
    # A class teacher edits contacts only: the full export is not theirs to take.
    teacher = f.staff_client(world["teacher"])
    assert f"/console/people/{pupil.user_code}/export/" not in teacher.get(f"/console/people/{pupil.user_code}/").content.decode()
    assert teacher.get(f"/console/people/{pupil.user_code}/export/").status_code == 403
    assert AuditEvent.objects.filter(action="scope.denied", actor=world["teacher"].user_code, detail__action="privacy.export").exists()


def test_cli_export_writes_json_and_pdf(world, tmp_path):
    out = tmp_path / "sara.json"
    call_command("privacy", "export", world["pupil"].display_code, "--out", str(out))
    assert json.loads(out.read_text(encoding="utf-8"))["account"]["user_code"] == world["pupil"].user_code
    pdf = tmp_path / "sara.pdf"
    call_command("privacy", "export", world["pupil"].user_code, "--out", str(pdf), "--language", "bn")
    assert pdf.read_bytes().startswith(b"%PDF") and "Sara" in full_text(pdf.read_bytes())
    assert AuditEvent.objects.filter(action="privacy.exported", actor="cli", detail__via="cli").count() == 2


@pytest.mark.parametrize("language", ["fa", "he", "pl", "bn", "ru"])
def test_privacy_strings_are_translated(language):
    from django.utils import translation

    with translation.override(language):
        assert translation.gettext("Download my data (PDF)") != "Download my data (PDF)"
        assert translation.gettext("What SchoolID holds about you") != "What SchoolID holds about you"


def test_the_pdf_is_in_the_readers_language(world):
    from schoolid.privacy.exports import as_pdf

    text = full_text(as_pdf(selectors.subject_access(world["pupil"].person), "ru"))
    assert "Что SchoolID хранит о вас" in text and "Sara" in text


def test_downloads_are_limited_per_requester(world, settings):
    """ASVS v5 2.4.1: each export reads everything and draws a PDF; one more than SCHOOLID_EXPORTS_PER_HOUR in an hour is refused."""
    settings.SCHOOLID_EXPORTS_PER_HOUR = 2
    client = signed_in(world["pupil"])
    assert [client.get("/account/export/?format=json").status_code for _ in range(3)] == [200, 200, 429]
    assert AuditEvent.objects.filter(action="privacy.exported", result="denied", detail__reason="rate_limited").count() == 1
