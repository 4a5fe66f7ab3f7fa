"""The staff console and its API: scoped lists, group issue, refusals (403 and audited), resets."""
import json

import pytest
from django.test import Client

from schoolid.audit.models import AuditEvent
from schoolid.core.profiles import load_profile
from schoolid.credentials.models import IssuedSecret, TotpDevice
from schoolid.credentials.services import issue_secrets, new_idempotency_key
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    t = f.org_tree()
    w = {"t": t}
    w["principal"] = f.account("principal", t["school_a"], given_name="Parvin", family_name="Karimi")
    w["principal_b"] = f.account("principal", t["school_b"])
    w["supervisor"] = f.account("cluster_supervisor", t["cluster"])
    w["officer"] = f.account("district_officer", t["district"])
    w["teacher"] = f.account("teacher", t["class_a1"])
    w["class_a1"] = [f.account("student", t["class_a1"], given_name=f"Ali{i}", family_name="Rezaei") for i in range(3)]
    w["class_a2"] = [f.account("student", t["class_a2"], given_name="Sara", family_name="Ahmadi") for _ in range(2)]
    w["teacher_a"] = f.account("teacher", t["school_a"], given_name="Maryam", family_name="Hosseini")
    w["teacher_b"] = f.account("teacher", t["school_b"])
    f.activate(w["principal"], w["principal_b"], w["supervisor"], w["officer"], w["teacher"], w["teacher_a"])
    return w


def test_console_needs_a_second_factor(world):
    client = f.staff_client(world["principal"])
    session = client.session
    session["amr"] = ["pwd"]
    session.save()
    assert client.get("/console/").status_code == 403
    assert f.staff_client(world["principal"]).get("/console/").status_code == 200


def test_students_and_guardians_have_no_console(world):
    student = world["class_a1"][0]
    f.activate(student)
    assert f.staff_client(student).get("/console/").status_code == 403


def test_list_filters_by_type_class_status_and_search(world):
    client = f.staff_client(world["principal"])
    html = client.get("/console/", {"type": "students", "class": world["t"]["class_a1"].code}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count('name="account"') == 3 and "All 3 matching" in html
    html = client.get("/console/", {"type": "teachers"}).content.decode()
    assert "Maryam" in html and "Ali0" not in html
    html = client.get("/console/", {"q": "rezaei"}).content.decode()
    assert html.count('name="account"') == 3
    nid = world["class_a2"][0].person.national_id
    html = client.get("/console/", {"q": nid.translate(str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹"))}).content.decode()
    assert html.count('name="account"') == 1
    html = client.get("/console/", {"status": "active"}).content.decode()
    assert "Maryam" in html and "Ali0" not in html
    # Nobody outside the school is listed.
    assert world["teacher_b"].user_code not in client.get("/console/").content.decode()


def test_persian_letter_forms_are_searched_alike(world):
    t = world["t"]
    f.account("student", t["class_a1"], given_name="علی", family_name="کریمی")
    client = f.staff_client(world["principal"])
    html = client.get("/console/", {"q": "كريمي"}).content.decode()  # Arabic kaf and yeh
    assert html.count('name="account"') == 1


def test_group_issue_through_the_pages(world):
    client = f.staff_client(world["principal"])
    klass = world["t"]["class_a1"].code
    confirm = client.post("/console/issue/confirm/", {"all_matching": "1", "type": "students", "class": klass}, HTTP_ACCEPT_LANGUAGE="en")
    html = confirm.content.decode()
    assert "new one-time passwords for 3 people" in html and "old passwords stop working" in html
    key = html.split('name="idempotency_key" value="')[1].split('"')[0]
    form = {"idempotency_key": key, "all_matching": "1", "type": "students", "class": klass}
    done = client.post("/console/issue/", form)
    assert done.status_code == 302
    result_url = done["Location"]
    page = client.get(result_url).content.decode()
    assert page.count('class="secret"') == 3
    pdf = client.get(result_url + "slips.pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    csv = client.get(result_url + "passwords.csv")
    assert csv.status_code == 200 and csv.content.decode("utf-8-sig").count("\n") == 4
    # A double submit issues nothing new and shows no secret.
    again = client.post("/console/issue/", form)
    assert again["Location"] == result_url and IssuedSecret.objects.count() == 3
    # Leaving the page: the secrets cannot be shown again.
    client.get("/console/")
    assert "cannot be shown again" in client.get(result_url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert client.get(result_url + "slips.pdf").status_code == 404


def test_refusals_on_the_page_are_messages_and_audited(world):
    client = f.staff_client(world["principal_b"])
    target = world["class_a1"][0]
    response = client.post("/console/issue/", {"idempotency_key": new_idempotency_key(), "account": [target.user_code]}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 403 and "Nothing was issued" in response.content.decode()
    assert AuditEvent.objects.filter(action="scope.denied", actor=world["principal_b"].user_code, target=target.user_code).exists()
    assert client.get(f"/console/people/{target.user_code}/").status_code == 403


def api_issue(client, codes):
    return client.post("/api/v1/console/issue", json.dumps({"idempotency_key": new_idempotency_key(), "user_codes": codes}), content_type="application/json")


@pytest.mark.parametrize("actor", ["principal_b", "supervisor", "teacher"])
def test_api_refusals_are_403_and_audited(world, actor):
    """Another school's principal, a supervisor on a student, a teacher where the profile forbids it."""
    client = f.staff_client(world[actor])
    target = world["class_a1"][0]
    response = api_issue(client, [target.user_code])
    assert response.status_code == 403 and response.json()["refused"] == [target.user_code]
    assert IssuedSecret.objects.count() == 0
    assert AuditEvent.objects.filter(action="scope.denied", actor=world[actor].user_code, target=target.user_code, result="denied").count() == 1


def test_teacher_may_reset_own_class_where_the_profile_allows(world, settings):
    settings.SCHOOLID_PROFILE = load_profile("ru")
    client = f.staff_client(world["teacher"])
    response = api_issue(client, [world["class_a1"][0].user_code])
    assert response.status_code == 200 and response.json()["count"] == 1
    assert api_issue(client, [world["class_a2"][0].user_code]).status_code == 403


def test_api_list_and_issue(world):
    client = f.staff_client(world["principal"])
    listing = client.get("/api/v1/console/accounts", {"type": "students", "class_code": world["t"]["class_a1"].code}).json()
    assert listing["total"] == 3 and {i["name"] for i in listing["items"]} == {"Ali0 Rezaei", "Ali1 Rezaei", "Ali2 Rezaei"}
    body = {"idempotency_key": "k-123456", "filter": {"type": "students", "class_code": world["t"]["class_a1"].code}}
    first = client.post("/api/v1/console/issue", json.dumps(body), content_type="application/json").json()
    assert first["count"] == 3 and len(first["items"]) == 3 and not first["replayed"]
    second = client.post("/api/v1/console/issue", json.dumps(body), content_type="application/json").json()
    assert second["replayed"] and second["items"] is None and second["batch"] == first["batch"]


def test_api_needs_csrf_with_a_session():
    client = Client(enforce_csrf_checks=True)
    t = f.org_tree()
    principal = f.account("principal", t["school_a"])
    f.activate(principal)
    f.staff_client(principal, client)
    response = client.post("/api/v1/console/issue", json.dumps({"idempotency_key": "x" * 10, "user_codes": []}), content_type="application/json")
    assert response.status_code == 403


def test_supervisor_sees_teachers_of_the_cluster_and_district_officer_principals(world):
    html = f.staff_client(world["supervisor"]).get("/console/").content.decode()
    assert world["teacher_a"].user_code in html and world["teacher_b"].user_code in html
    assert world["class_a1"][0].user_code not in html and world["principal"].user_code not in html
    html = f.staff_client(world["officer"]).get("/console/", {"type": "staff"}).content.decode()
    assert world["principal"].user_code in html and world["supervisor"].user_code in html


def test_individual_reset_by_national_id_and_role(world):
    client = f.staff_client(world["principal"])
    target = world["class_a2"][1]
    found = client.post("/console/find/", {"national_id": target.person.national_id, "role": "student"})
    assert found.status_code == 302 and found["Location"] == f"/console/people/{target.user_code}/"
    page = client.get(found["Location"]).content.decode()
    key = page.split('name="idempotency_key" value="')[1].split('"')[0]
    reset = client.post(f"/console/people/{target.user_code}/reset/", {"idempotency_key": key})
    assert reset.status_code == 302
    assert client.get(reset["Location"]).content.decode().count('class="secret"') == 1
    assert client.get(reset["Location"] + "slips.pdf").status_code == 200
    assert AuditEvent.objects.filter(action="credentials.individual_issue").count() == 1
    missing = client.post("/console/find/", {"national_id": world["teacher_b"].person.national_id, "role": "teacher"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "Nobody with this national ID" in missing.content.decode()


def test_not_yet_activated_view_and_reissue(world):
    principal = world["principal"]
    issue_secrets(principal, world["class_a1"], idempotency_key=new_idempotency_key())
    client = f.staff_client(principal)
    html = client.get("/console/not-activated/").content.decode()
    assert html.count('name="account"') == 3
    confirm = client.post("/console/issue/confirm/", {"all_matching": "1", "subset": "not_activated"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "for 3 people" in confirm


def test_second_factor_reset_by_the_person_above(world):
    teacher = world["teacher_a"]
    f.enrol_totp(teacher)
    client = f.staff_client(world["principal"])
    assert client.post(f"/console/people/{teacher.user_code}/reset-second-factor/").status_code == 200
    assert not TotpDevice.objects.filter(account=teacher).exists()
    assert AuditEvent.objects.filter(action="second_factor.reset", target=teacher.user_code).count() == 1
    # Another school's principal may not.
    f.enrol_totp(teacher)
    other = f.staff_client(world["principal_b"])
    assert other.post(f"/console/people/{teacher.user_code}/reset-second-factor/").status_code == 403
    assert TotpDevice.objects.filter(account=teacher).exists()
