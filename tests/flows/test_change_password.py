"""Changing a password from account settings (seed 000; ASVS v5 6.2.2, 6.2.3, 7.4.3; NIST §4.6)."""
import pytest
from django.test import Client

from schoolid.audit.models import AuditEvent
from schoolid.notify.models import OutboxMessage
from tests import factories as f

pytestmark = pytest.mark.django_db
OLD, NEW = "maple river lantern quietly", "copper kettle under stars"


@pytest.fixture
def parent():
    t = f.org_tree()
    account = f.account("guardian", t["school_a"], password=OLD, email="mother@example.org", email_verified=True)
    return account


def signed_in(account, password=OLD):
    client = Client()
    assert client.post("/signin/", {"identifier": account.person.national_id, "password": password})["Location"] == "/account/"
    return client


def change(client, current, new, again=None, end_others=True):
    data = {"current_password": current, "new_password": new, "new_password_again": again or new}
    if end_others:
        data["end_other_sessions"] = "on"
    return client.post("/account/password/", data, HTTP_ACCEPT_LANGUAGE="en")


def test_needs_the_right_current_password(parent):
    client = signed_in(parent)
    assert "This is not your current password." in change(client, "wrong password entirely", NEW).content.decode()
    assert change(client, "", NEW).status_code == 200
    parent.refresh_from_db()
    assert parent.check_password(OLD)
    assert AuditEvent.objects.filter(action="signin.password", result="failure", target=parent.user_code).count() == 1


def test_change_ends_other_sessions_when_asked_and_notifies(parent):
    client, other = signed_in(parent), signed_in(parent)
    response = change(client, OLD, NEW)
    assert response.status_code == 302 and response["Location"] == "/account/"
    assert client.get("/account/").status_code == 200  # this browser stays signed in
    assert other.get("/account/").status_code == 302  # the other one is signed out
    assert Client().post("/signin/", {"identifier": parent.person.national_id, "password": OLD}).status_code == 200
    assert Client().post("/signin/", {"identifier": parent.person.national_id, "password": NEW}).status_code == 302
    notice = OutboxMessage.objects.get(purpose="password.changed")
    assert notice.to == "mother@example.org" and NEW not in notice.body and OLD not in notice.body
    assert AuditEvent.objects.filter(action="password.changed", target=parent.user_code).count() == 1


def test_other_sessions_may_stay(parent):
    client, other = signed_in(parent), signed_in(parent)
    assert change(client, OLD, NEW, end_others=False).status_code == 302
    assert other.get("/account/").status_code == 200


def test_new_password_follows_the_policy(parent):
    client = signed_in(parent)
    html = change(client, OLD, "short one").content.decode()
    assert "Use at least 15 characters" in html
    html = change(client, OLD, "password1234567").content.decode()
    assert "common or leaked" in html
    html = change(client, OLD, NEW, again=NEW + "x").content.decode()
    assert "not the same" in html
    parent.refresh_from_db()
    assert parent.check_password(OLD)


def test_live_policy_check(parent):
    client = signed_in(parent)
    weak = client.post("/account/password/check/", {"password": "abc"}, HTTP_ACCEPT_LANGUAGE="en").json()
    assert not weak["ok"] and any("at least 15" in p for p in weak["problems"])
    good = client.post("/account/password/check/", {"password": NEW}).json()
    assert good["ok"] and good["problems"] == []
    assert Client().post("/account/password/check/", {"password": NEW}).status_code == 302


def test_change_needs_csrf(parent):
    client = Client(enforce_csrf_checks=True)
    f.staff_client(parent, client)
    assert change(client, OLD, NEW).status_code == 403
