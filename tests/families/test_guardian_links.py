"""Guardian links (seed 004; issue 6 item 2): proposed by staff in scope, answered only by the parent,
ended by staff, every step audited."""
import pytest
from django.test import Client

from schoolid.audit.models import AuditEvent
from schoolid.directory.models import Guardianship
from schoolid.notify.models import OutboxMessage
from tests import factories as f

pytestmark = pytest.mark.django_db
PASSWORD = "maple river lantern quietly"


@pytest.fixture
def world():
    t = f.org_tree()
    w = {"t": t}
    w["class_teacher"] = f.account("class_teacher", t["class_a1"])
    w["other_teacher"] = f.account("class_teacher", t["class_b1"])
    w["secretary"] = f.account("secretary", t["school_a"])
    w["pupil"] = f.account("student", t["class_a1"], given_name="Sara", family_name="Karimi")
    w["parent"] = f.account(password=PASSWORD, email="mother@example.org", email_verified=True, given_name="Mina", family_name="Karimi")
    f.activate(w["class_teacher"], w["other_teacher"], w["secretary"], w["parent"])
    return w


def propose(client, pupil, parent):
    return client.post(f"/console/people/{pupil.user_code}/guardians/", {"national_id": parent.person.national_id})


def parent_client(parent):
    client = Client()
    assert client.post("/signin/", {"identifier": parent.person.national_id, "password": PASSWORD})["Location"] == "/account/"
    return client


def test_class_teacher_proposes_and_the_parent_confirms(world):
    teacher = f.staff_client(world["class_teacher"])
    assert world["pupil"].user_code in teacher.get("/console/").content.decode()
    assert propose(teacher, world["pupil"], world["parent"]).status_code == 302
    link = Guardianship.objects.get()
    assert link.status == "proposed" and link.source == "staff"
    assert OutboxMessage.objects.filter(purpose="guardianship.proposed", to="mother@example.org").exists()
    parent = parent_client(world["parent"])
    assert 'id="family-banner"' in parent.get("/account/").content.decode()
    assert parent.post("/account/family/", {"link": link.pk, "answer": "confirm"}).status_code == 302
    link.refresh_from_db()
    assert link.status == "confirmed"
    page = parent.get("/account/family/").content.decode()
    assert "Sara Karimi" in page and 'id="family-banner"' not in parent.get("/account/").content.decode()
    # Now a guardian of the school: the class teacher may edit the parent's contact data.
    from schoolid.accounts.scope import Action, decide

    assert decide(world["class_teacher"], Action.EDIT_CONTACT, world["parent"]).allowed
    assert AuditEvent.objects.filter(action="guardianship.confirmed", actor=world["parent"].user_code).count() == 1


def test_parent_rejects(world):
    propose(f.staff_client(world["secretary"]), world["pupil"], world["parent"])
    link = Guardianship.objects.get()
    parent_client(world["parent"]).post("/account/family/", {"link": link.pk, "answer": "reject"})
    link.refresh_from_db()
    assert link.status == "rejected"


def test_proposal_outside_scope_is_refused_and_audited(world):
    response = propose(f.staff_client(world["other_teacher"]), world["pupil"], world["parent"])
    assert response.status_code == 403 and not Guardianship.objects.exists()
    assert AuditEvent.objects.filter(action="scope.denied", actor=world["other_teacher"].user_code, target=world["pupil"].user_code).exists()


def test_a_parent_cannot_answer_someone_elses_link(world):
    propose(f.staff_client(world["class_teacher"]), world["pupil"], world["parent"])
    link = Guardianship.objects.get()
    intruder = f.account(password=PASSWORD)
    f.activate(intruder)
    response = parent_client(intruder).post("/account/family/", {"link": link.pk, "answer": "confirm"})
    assert response.status_code == 403
    link.refresh_from_db()
    assert link.status == "proposed"
    assert AuditEvent.objects.filter(action="guardianship.answer", result="denied", actor=intruder.user_code).exists()


def test_staff_end_a_link_and_it_is_audited(world):
    propose(f.staff_client(world["secretary"]), world["pupil"], world["parent"])
    link = Guardianship.objects.get()
    secretary = f.staff_client(world["secretary"])
    assert secretary.post(f"/console/people/{world['pupil'].user_code}/guardians/{link.pk}/end/").status_code == 302
    link.refresh_from_db()
    assert link.status == "ended"
    assert AuditEvent.objects.filter(action="guardianship.ended", actor=world["secretary"].user_code).count() == 1


def test_no_duplicate_proposals(world):
    teacher = f.staff_client(world["class_teacher"])
    propose(teacher, world["pupil"], world["parent"])
    propose(teacher, world["pupil"], world["parent"])
    assert Guardianship.objects.count() == 1


def test_parent_resets_a_young_childs_password(world, settings):
    """Issue 6 item 3: where the profile allows it, for a child under the age threshold; school told; audited."""
    import datetime

    from schoolid.core.profiles import load_profile
    from schoolid.credentials.models import IssuedSecret

    settings.SCHOOLID_PROFILE = load_profile("ru")
    t = world["t"]
    f.account("principal", t["school_a"], email="director@example.org", email_verified=True)
    young = f.account("student", t["class_a1"], birth_date=datetime.date.today() - datetime.timedelta(days=365 * 9))
    older = f.account("student", t["class_a1"], birth_date=datetime.date.today() - datetime.timedelta(days=365 * 16))
    from schoolid.directory.services import link_guardian

    for child in (young, older):
        link_guardian(guardian=world["parent"].person, student=child.person, source="register")
    client = Client()
    client.post("/signin/", {"identifier": world["parent"].user_code, "password": PASSWORD})
    page = client.get("/account/family/").content.decode()
    assert f'id="reset-{young.user_code}"' in page and f'id="reset-{older.user_code}"' not in page
    done = client.post(f"/account/family/{young.user_code}/reset/")
    assert done.status_code == 302
    result = client.get(done["Location"]).content.decode()
    assert 'id="child-secret"' in result
    assert client.get(done["Location"] + "?format=pdf").content.startswith(b"%PDF")
    assert IssuedSecret.objects.filter(account=young).count() == 1
    assert OutboxMessage.objects.filter(purpose="credentials.parent_reset", to="director@example.org").exists()
    assert AuditEvent.objects.filter(action="credentials.parent_issue", actor=world["parent"].user_code).count() == 1
    # Not for an older child, nor for someone else's child.
    assert client.post(f"/account/family/{older.user_code}/reset/").status_code == 403
    assert client.post(f"/account/family/{world['pupil'].user_code}/reset/").status_code == 403
    assert AuditEvent.objects.filter(action="scope.denied", actor=world["parent"].user_code).count() == 2
