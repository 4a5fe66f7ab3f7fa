"""Self-service flows as JSON for mobile apps (issue 4 item 8): activation and recovery follow the same
rules as the pages (security requirements §3, §4)."""
import datetime
import json
import re

import pytest
from django.test import Client

from schoolid.core.profiles import load_profile
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
NEW = "новый пароль тоже длинный"


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


@pytest.fixture
def parent(settings):
    settings.SCHOOLID_PROFILE = load_profile("ru")
    t = f.org_tree()
    return f.account("guardian", t["school_a"], password="старый пароль очень длинный", mobile="89123456789", mobile_verified=True)


def test_recovery_over_the_api(parent, gateway):
    client = Client()
    started = post(client, "/api/v1/flows/recovery", {"need": "both", "identifier": "89123456789"})
    assert started.status_code == 202
    flow = started.json()["flow"]
    unknown = post(Client(), "/api/v1/flows/recovery", {"need": "both", "identifier": "89990000000"})
    assert unknown.status_code == 202 and set(unknown.json()) == set(started.json())  # the same answer
    assert post(client, f"/api/v1/flows/recovery/{flow}/password", {"new_password": NEW}).status_code == 409
    assert post(client, f"/api/v1/flows/recovery/{flow}/code", {"code": "000000"}).status_code == 400
    code = re.search(r"\b\d{6}\b", gateway.received[-1][1]["text"]).group(0)
    proven = post(client, f"/api/v1/flows/recovery/{flow}/code", {"code": code}).json()
    assert proven["state"] == "proven"
    binding = proven["binding"]
    weak = post(client, f"/api/v1/flows/recovery/{flow}/password", {"new_password": "short", "binding": binding})
    assert weak.status_code == 400 and weak.json()["problems"]
    done = post(client, f"/api/v1/flows/recovery/{flow}/password", {"new_password": NEW, "binding": binding})
    assert done.status_code == 200 and done.json() == {"login": parent.display_code, "password_changed": True}
    assert Client().post("/signin/", {"identifier": parent.user_code, "password": NEW})["Location"] == "/account/"
    assert post(client, f"/api/v1/flows/recovery/{flow}/password", {"new_password": NEW}).status_code == 404  # done


def test_activation_over_the_api(settings, smtp):
    settings.SCHOOLID_PROFILE = load_profile("pl")
    t = f.org_tree()
    pupil = f.account("student", t["class_a1"], email="jan@example.org", birth_date=datetime.date(2008, 5, 5))  # over the age threshold
    assert post(Client(), "/api/v1/flows/activation", {"identifier": pupil.person.national_id}).status_code == 202
    assert post(Client(), "/api/v1/flows/activation", {"identifier": "44051401359"}).status_code == 202
    assert len(smtp.messages) == 1 and smtp.messages[0][0] == ["jan@example.org"]


def test_api_flows_follow_the_country(settings):
    settings.SCHOOLID_PROFILE = load_profile("ir")
    assert post(Client(), "/api/v1/flows/recovery", {"identifier": "x"}).status_code == 404
    assert post(Client(), "/api/v1/flows/activation", {"identifier": "x"}).status_code == 404


def test_documented_in_openapi():
    paths = Client().get("/api/openapi.json").json()["paths"]
    assert {"/api/v1/flows/activation", "/api/v1/flows/recovery", "/api/v1/flows/recovery/{flow_id}/code", "/api/v1/flows/recovery/{flow_id}/password"} <= set(paths)


def auth(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def sms_token(parent, gateway):
    client = Client()
    flow = post(client, "/api/v1/flows/sms-signin", {"national_id": parent.person.national_id}).json()["flow"]
    code = re.search(r"\b\d{6}\b", gateway.received[-1][1]["text"]).group(0)
    response = post(client, f"/api/v1/flows/sms-signin/{flow}/code", {"code": code})
    assert response.status_code == 200
    return response.json()["token"]


def test_sms_sign_in_gives_a_session_token_that_signs_out(parent, gateway):
    assert post(Client(), "/api/v1/flows/sms-signin", {"national_id": "00000000000"}).status_code == 202  # same answer
    token = sms_token(parent, gateway)
    me = Client().get("/api/v1/flows/session", **auth(token))
    assert me.status_code == 200 and me.json()["user_code"] == parent.user_code
    assert Client().get("/api/v1/flows/session", **auth("not-a-token")).status_code == 401
    assert Client().delete("/api/v1/flows/session", **auth(token)).status_code == 204
    assert Client().get("/api/v1/flows/session", **auth(token)).status_code == 401


def test_wrong_sms_codes_over_the_api_are_throttled(parent, gateway, settings):
    settings.LOGIN_FREE_ATTEMPTS = 2
    client = Client()
    flow = post(client, "/api/v1/flows/sms-signin", {"national_id": parent.person.national_id}).json()["flow"]
    statuses = [post(client, f"/api/v1/flows/sms-signin/{flow}/code", {"code": "000000"}).status_code for _ in range(3)]
    assert statuses == [400, 400, 429]


def test_settings_over_the_api(parent, gateway, smtp):
    token = sms_token(parent, gateway)
    wrong = Client().post("/api/v1/flows/settings/password", json.dumps({"current_password": "nope", "new_password": NEW}), content_type="application/json", **auth(token))
    assert wrong.status_code == 400
    changed = Client().post("/api/v1/flows/settings/password", json.dumps({"current_password": "старый пароль очень длинный", "new_password": NEW, "end_other_sessions": True}),
                            content_type="application/json", **auth(token))
    assert changed.status_code == 200
    assert Client().get("/api/v1/flows/session", **auth(token)).status_code == 200  # this token survives
    email = Client().post("/api/v1/flows/settings/email", json.dumps({"new_email": "mama@example.org", "password": NEW}), content_type="application/json", **auth(token))
    assert email.status_code == 202 and smtp.messages[-1][0] == ["mama@example.org"]
    phone = Client().post("/api/v1/flows/settings/phone", json.dumps({"new_mobile": "89001234567", "password": NEW}), content_type="application/json", **auth(token))
    assert phone.status_code == 202
    code = re.search(r"\b\d{6}\b", gateway.received[-1][1]["text"]).group(0)
    confirmed = Client().post(f"/api/v1/flows/settings/phone/{phone.json()['flow']}/code", json.dumps({"code": code}), content_type="application/json", **auth(token))
    assert confirmed.status_code == 200
    parent.person.refresh_from_db()
    assert parent.person.mobile == "+79001234567"


def test_settings_need_a_token():
    assert Client().post("/api/v1/flows/settings/password", json.dumps({"current_password": "a", "new_password": "b"}), content_type="application/json").status_code == 401


def test_who_can_help_over_the_api():
    from schoolid.directory.models import OrgUnit

    t = f.org_tree()
    OrgUnit.objects.filter(pk=t["school_a"].pk).update(contact_phone="+982188776655")
    OrgUnit.objects.get(pk=t["school_a"].pk).save()
    f.account("principal", t["school_a"], given_name="Parvin", family_name="Karimi", mobile="09121234567", mobile_verified=True)
    found = Client().get("/api/v1/flows/help", {"q": "school a"}).json()
    assert [s["code"] for s in found] == [t["school_a"].code]
    school = Client().get(f"/api/v1/flows/help/{t['school_a'].code}").json()
    assert school["phone"] == "+982188776655" and school["people"] == [{"name": "Parvin Karimi", "role": "principal"}]
    assert "+989121234567" not in json.dumps(school)


def test_legacy_question_over_the_api(settings, gateway):
    import dataclasses

    settings.SCHOOLID_PROFILE = dataclasses.replace(load_profile("ru"), legacy_security_questions=True)
    t = f.org_tree()
    parent = f.account("guardian", t["school_a"], password="старый пароль очень длинный", mobile="89123456789", mobile_verified=True)
    token = sms_token(parent, gateway)
    body = {"question": "first_teacher", "answer": "Иванова", "password": "старый пароль очень длинный"}
    assert Client().post("/api/v1/flows/settings/security-question", json.dumps(body), content_type="application/json", **auth(token)).status_code == 200
    client = Client()
    flow = post(client, "/api/v1/flows/recovery", {"need": "password", "identifier": "89123456789"}).json()["flow"]
    code = re.search(r"\b\d{6}\b", gateway.received[-1][1]["text"]).group(0)
    proven = post(client, f"/api/v1/flows/recovery/{flow}/code", {"code": code}).json()
    assert proven["state"] == "needs_answer"
    binding = proven["binding"]
    assert client.get(f"/api/v1/flows/recovery/{flow}/question").status_code == 409  # only for the prover
    assert client.get(f"/api/v1/flows/recovery/{flow}/question", HTTP_X_RECOVERY_BINDING=binding).json()["question"]
    assert post(client, f"/api/v1/flows/recovery/{flow}/password", {"new_password": NEW, "binding": binding}).status_code == 409
    assert post(client, f"/api/v1/flows/recovery/{flow}/question", {"answer": "Петрова", "binding": binding}).status_code == 400
    assert post(client, f"/api/v1/flows/recovery/{flow}/question", {"answer": " иванова "}).status_code == 409
    assert post(client, f"/api/v1/flows/recovery/{flow}/question", {"answer": " иванова ", "binding": binding}).status_code == 200
    assert post(client, f"/api/v1/flows/recovery/{flow}/password", {"new_password": NEW, "binding": binding}).status_code == 200
