"""The permanent user code (seed 001: "the user code is permanent and can never be changed"; design.md
"Account"; OIDC §2 / ASVS v5 10.3.3: an identifier is never reassigned). No path changes it:
registration re-runs, the operator admin, the REST API, the ORM and SQL (a database trigger)."""
import json
import random
import re

import pytest
from django.db import DatabaseError, transaction
from django.test import Client

from schoolid.accounts.models import Account
from schoolid.accounts.user_codes import generate_user_code
from schoolid.core.profiles import load_profile
from schoolid.directory.national_ids import SCHEMES
from schoolid.notify.models import OutboxMessage
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "olive tree behind the station"


def _code(purpose):
    return re.search(r"\b\d{6}\b", OutboxMessage.objects.filter(purpose=purpose).order_by("-created_at").first().body).group(0)


def register(national_id, email="miriam@example.org", mobile="050-234-5678"):
    client = Client()
    client.post("/register/", {"national_id": national_id, "given_name": "Miriam", "family_name": "Cohen", "birth_date": "1985-04-23"})
    client.post("/register/contact/", {"email": email, "mobile": mobile})
    assert client.post("/register/codes/", {"email_code": _code("registration.email_code"), "mobile_code": _code("registration.sms_code")})["Location"] == "/register/created/"
    return client


def test_registration_re_runs_never_change_the_user_code(settings):
    """Registering again, before and after the password is set, keeps the one account and its code."""
    settings.SCHOOLID_PROFILE = load_profile("il")
    national_id = SCHEMES["il_teudat_zehut"].generate(random.Random(11))
    client = register(national_id)
    account = Account.objects.get(person__national_id=national_id)
    code = account.user_code
    register(national_id, email="other@example.org", mobile="052-555-1234")  # before the password: refused (contacts differ)
    link = re.search(r"/register/password/[A-Za-z0-9_-]+/", OutboxMessage.objects.get(purpose="registration.link", to="miriam@example.org").body).group(0)
    client.post(link, {"national_id": national_id, "new_password": PASSWORD, "new_password_again": PASSWORD})
    register(national_id)  # after: the owner is told, nothing changes
    assert list(Account.objects.filter(person__national_id=national_id).values_list("user_code", flat=True)) == [code]
    assert OutboxMessage.objects.filter(purpose="registration.duplicate").count() == 2


def test_the_admin_cannot_change_a_user_code():
    """ASVS v5 8.2.2: the operator's change form shows the code read-only; a forged field is ignored."""
    t = f.org_tree()
    operator = f.account("ministry_admin", t["ministry"])
    f.activate(operator)
    target = f.account()
    code = target.user_code
    client = f.staff_client(operator)
    form = client.get(f"/admin/accounts/account/{target.pk}/change/")
    assert form.status_code == 200 and 'name="user_code"' not in form.content.decode()
    data = {"user_code": generate_user_code(), "person": target.person_id, "status": "disabled", "preferred_language": "",
            "assignments-TOTAL_FORMS": "0", "assignments-INITIAL_FORMS": "0", "assignments-MIN_NUM_FORMS": "0", "assignments-MAX_NUM_FORMS": "1000"}
    saved = client.post(f"/admin/accounts/account/{target.pk}/change/", data)
    assert saved.status_code == 302
    target.refresh_from_db()
    assert target.status == "disabled" and target.user_code == code  # the form was saved, the code was not
    assert client.get("/admin/accounts/account/add/").status_code == 403


def test_the_api_offers_no_way_to_change_a_user_code(settings):
    """The OpenAPI document has no input field `user_code`; every PUT/PATCH on an account, sent one,
    leaves the code as it was."""
    t = f.org_tree()
    principal = f.account("principal", t["school_a"])
    f.activate(principal)
    pupil = f.account("student", t["class_a1"])
    code = pupil.user_code
    client = f.staff_client(principal)
    doc = client.get("/api/openapi.json").json()
    schemas = doc.get("components", {}).get("schemas", {})
    for path, operations in doc["paths"].items():
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            name = body.get("$ref", "").rsplit("/", 1)[-1]
            properties = schemas.get(name, body).get("properties", {})
            assert "user_code" not in properties and "userName" not in properties, (method, path)
            if method in ("put", "patch") and "{user_code}" in path:
                url = "/api" + path.replace("/api", "", 1).replace("{user_code}", code) if not path.startswith("/api") else path.replace("{user_code}", code)
                getattr(client, method)(url, json.dumps({"user_code": generate_user_code()}), content_type="application/json")
    pupil.refresh_from_db()
    assert pupil.user_code == code


def test_no_orm_or_sql_update_changes_it():
    """The database trigger stops a bulk update that bypasses the model's guard."""
    account = f.account()
    with pytest.raises(DatabaseError):
        with transaction.atomic():
            Account.objects.filter(pk=account.pk).update(user_code=generate_user_code())
    assert Account.objects.get(pk=account.pk).user_code == account.user_code
