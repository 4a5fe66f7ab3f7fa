"""Access requests (seed 004; issue 6 item 4): request, review by the school, outcome to the requester."""
import datetime
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from schoolid.audit.models import AuditEvent
from schoolid.directory.models import AccessRequest, OrgUnit
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def school():
    t = f.org_tree()
    OrgUnit.objects.filter(pk=t["school_a"].pk).update(name="دبستان فردوسی")
    OrgUnit.objects.get(pk=t["school_a"].pk).save()
    secretary = f.account("secretary", t["school_a"], email="office@example.org", email_verified=True)
    other_secretary = f.account("secretary", t["school_b"])
    pupil = f.account("student", t["class_a1"], birth_date=datetime.date(2008, 5, 5))  # over the age threshold
    f.activate(secretary, other_secretary)
    return t, secretary, other_secretary, pupil


def ask(client, school_code, **fields):
    data = {"school": school_code, "role": "student", "given_name": "Sara", "family_name": "Karimi", "email": "sara@example.org", "mobile": ""}
    data.update(fields)
    return client.post("/access/", data, HTTP_ACCEPT_LANGUAGE="en")


def test_request_found_by_school_name_in_native_script(school):
    t, *_ = school
    page = Client().get("/access/", {"q": "فردوسي"}).content.decode()
    assert t["school_a"].code in page


def test_approved_request_leads_to_the_activation_link(school, smtp):
    t, secretary, _other, pupil = school
    response = ask(Client(), t["school_a"].code, national_id=pupil.person.national_id)
    assert 'id="access-sent"' in response.content.decode()
    item = AccessRequest.objects.get()
    assert any(rcpt == ["office@example.org"] for rcpt, _c in smtp.messages)  # the school is told
    console = f.staff_client(secretary)
    assert pupil.person.national_id in console.get("/console/access-requests/").content.decode()
    assert console.post("/console/access-requests/", {"request": item.pk, "decision": "approve"}).status_code == 302
    item.refresh_from_db()
    assert item.status == "approved" and item.matched_person_id == pupil.person_id
    mail = next(c for rcpt, c in smtp.messages if rcpt == ["sara@example.org"])
    link = re.search(r"https?://\S+/activate/[A-Za-z0-9_-]+/", mail).group(0).replace(django_settings.BASE_URL, "")
    done = Client().post(link, {"new_password": "purple otter juggles kites", "new_password_again": "purple otter juggles kites"})
    assert done.status_code == 200
    assert Client().post("/signin/", {"identifier": pupil.person.national_id, "password": "purple otter juggles kites"})["Location"] == "/account/"


def test_rejected_request_tells_the_reason(school, smtp):
    t, secretary, _other, _pupil = school
    ask(Client(), t["school_a"].code, national_id=f.person().national_id)
    item = AccessRequest.objects.get()
    console = f.staff_client(secretary)
    console.post("/console/access-requests/", {"request": item.pk, "decision": "reject", "reason": ""})
    item.refresh_from_db()
    assert item.status == "pending"  # a reason is required
    console.post("/console/access-requests/", {"request": item.pk, "decision": "reject", "reason": "Not a pupil of this school"})
    item.refresh_from_db()
    assert item.status == "rejected"
    assert any(rcpt == ["sara@example.org"] and "Not a pupil of this school" in c for rcpt, c in smtp.messages)


def test_bad_input_is_explained_and_nothing_stored(school):
    t, *_ = school
    html = ask(Client(), t["school_a"].code, national_id="123").content.decode()
    assert 'id="access-error"' in html and AccessRequest.objects.count() == 0
    html = ask(Client(), t["school_a"].code, national_id=f.person().national_id, email="", mobile="").content.decode()
    assert "e-mail or a mobile" in html and AccessRequest.objects.count() == 0


def test_another_school_cannot_review(school):
    t, _secretary, other, pupil = school
    ask(Client(), t["school_a"].code, national_id=pupil.person.national_id)
    item = AccessRequest.objects.get()
    console = f.staff_client(other)
    assert pupil.person.national_id not in console.get("/console/access-requests/").content.decode()
    assert console.post("/console/access-requests/", {"request": item.pk, "decision": "approve"}).status_code == 403
    item.refresh_from_db()
    assert item.status == "pending"
    assert AuditEvent.objects.filter(action="scope.denied", actor=other.user_code).exists()


def test_a_young_pupil_approved_gets_no_activation_link(school, smtp):
    """Age rules (issue 6 item 5): under the profile's threshold the approval sends no link the pupil
    could not use; the requester is told who gives access. ASVS v5 16.2.1 (the decision is audited)."""
    t, secretary, _other, _pupil = school
    young = f.account("student", t["class_a1"], birth_date=datetime.date.today() - datetime.timedelta(days=9 * 365))
    ask(Client(), t["school_a"].code, national_id=young.person.national_id, email="kid@example.org")
    item = AccessRequest.objects.get()
    console = f.staff_client(secretary)
    console.post("/console/access-requests/", {"request": item.pk, "decision": "approve"})
    item.refresh_from_db()
    assert item.status == "approved"
    mail = next(c for rcpt, c in smtp.messages if rcpt == ["kid@example.org"])
    assert "/activate/" not in mail
    event = AuditEvent.objects.get(action="access_request.approved")
    assert event.detail["activation_link"] is False and event.detail["reason"] == "under_age_threshold"


def test_approving_cannot_hand_another_schools_pupil_to_the_requester(school, smtp):
    """Issue 11 item 2 (ASVS v5 8.2.2, 8.4.1): an access request at school A naming a pupil of school B
    must not send B's pupil's activation link to the requester, and the answer is the one an unknown
    national ID gets (no oracle for A's staff)."""
    t, secretary, _other, _pupil = school
    victim = f.account("student", t["class_b1"], birth_date=datetime.date(2008, 5, 5))
    console = f.staff_client(secretary)
    answers = []
    for national_id in (victim.person.national_id, f.person().national_id):
        ask(Client(), t["school_a"].code, national_id=national_id, email="attacker@example.org")
        item = AccessRequest.objects.get(status="pending")
        page = console.post("/console/access-requests/", {"request": item.pk, "decision": "approve"}, follow=True,
                            HTTP_ACCEPT_LANGUAGE="en").content.decode()
        item.refresh_from_db()
        assert item.status == "pending"
        answers.append(re.findall(r'role="status">([^<]*)<', page))
        AccessRequest.objects.filter(pk=item.pk).update(status="rejected")
    assert answers[0] == answers[1] and len(answers[0]) == 1
    assert not any(rcpt == ["attacker@example.org"] for rcpt, _c in smtp.messages)


def test_approving_cannot_reset_an_account_in_use(school, smtp):
    """An activation link for an account already in use would bypass recovery (issue 11 item 2)."""
    t, secretary, _other, pupil = school
    f.activate(pupil)
    ask(Client(), t["school_a"].code, national_id=pupil.person.national_id, email="attacker@example.org")
    item = AccessRequest.objects.get()
    f.staff_client(secretary).post("/console/access-requests/", {"request": item.pk, "decision": "approve"})
    item.refresh_from_db()
    assert item.status == "pending"
    assert not any(rcpt == ["attacker@example.org"] for rcpt, _c in smtp.messages)


def test_the_request_goes_role_region_district_school(school):
    """Seed 004: role → region → district → school (schools in the district's clusters too); the
    chosen role is kept on the request form."""
    t, _secretary, _other, _pupil = school
    client = Client()
    first = client.get("/access/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'value="{t["region"].code}"' in first and 'id="step-district"' not in first
    second = client.get("/access/", {"role": "guardian", "region": t["region"].code}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'value="{t["district"].code}"' in second and f'value="{t["district2"].code}"' in second
    third = client.get("/access/", {"role": "guardian", "region": t["region"].code, "district": t["district"].code}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert f'?school={t["school_a"].code}&amp;role=guardian' in third and t["school_b"].code in third
    assert t["school_c"].code not in third  # another district's school
    form = client.get("/access/", {"school": t["school_a"].code, "role": "guardian"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<option value="guardian" selected>' in form
