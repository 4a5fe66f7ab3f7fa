"""Issue 11 item 4: a person sees their signed-in sessions and ends any one or all others (ASVS v5 7.5.2)."""
import json
import re

import pytest
from django.test import Client

from schoolid.accounts.models import SignedInSession
from schoolid.audit.models import AuditEvent
from tests import factories as f

pytestmark = pytest.mark.django_db
PASSWORD = "maple river lantern quietly"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
PHONE = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"


@pytest.fixture
def parent():
    t = f.org_tree()
    return f.account("guardian", t["school_a"], password=PASSWORD)


def signed_in(account, agent, address):
    client = Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    assert client.post("/signin/", {"identifier": account.person.national_id, "password": PASSWORD})["Location"] == "/account/"
    assert client.get("/account/").status_code == 200
    return client


def _row_ids(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="session-(\d+)"', page)]


@pytest.mark.parametrize("engine", ["schoolid.accounts.session_db", "schoolid.accounts.session_cache"])
def test_a_person_sees_their_sessions_and_ends_one(parent, engine, settings):
    settings.SESSION_ENGINE = engine
    laptop = signed_in(parent, FIREFOX, "192.0.2.10")
    phone = signed_in(parent, PHONE, "198.51.100.7")
    page = laptop.get("/account/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Firefox · Linux" in page and "Chrome · Android" in page and "198.51.100.7" in page and 'id="this-session"' in page
    phone_row = SignedInSession.objects.get(user_agent=PHONE)
    assert set(_row_ids(page)) == {phone_row.pk, SignedInSession.objects.get(user_agent=FIREFOX).pk}
    assert laptop.post("/account/sessions/end/", {"session": phone_row.pk}).status_code == 302
    assert phone.get("/account/")["Location"].startswith("/signin/")  # that session is gone on the server
    assert laptop.get("/account/").status_code == 200
    assert _row_ids(laptop.get("/account/").content.decode()) == [SignedInSession.objects.get(user_agent=FIREFOX).pk]
    assert AuditEvent.objects.filter(action="session.revoked", actor_id=parent.pk).exists()


def test_a_person_cannot_end_someone_elses_session(parent):
    other = f.account("guardian", f.org_tree()["school_a"], password=PASSWORD)
    victim = signed_in(other, FIREFOX, "192.0.2.20")
    attacker = signed_in(parent, PHONE, "192.0.2.30")
    victim_row = SignedInSession.objects.get(account=other)
    attacker.post("/account/sessions/end/", {"session": victim_row.pk})
    assert victim.get("/account/").status_code == 200
    assert victim_row.pk not in _row_ids(attacker.get("/account/").content.decode())


def test_sign_out_everywhere_else_ends_browser_and_api_sessions(parent, gateway):
    here = signed_in(parent, FIREFOX, "192.0.2.10")
    there = signed_in(parent, PHONE, "192.0.2.11")
    from schoolid.flows.tokens import issue_token

    token = issue_token(None, parent, ["pwd"]).token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    assert len(_row_ids(here.get("/account/").content.decode())) == 3
    assert here.post("/account/sessions/end/", {"scope": "others"}).status_code == 302
    assert there.get("/account/")["Location"].startswith("/signin/")
    api = Client().post("/api/v1/flows/settings/email", json.dumps({"new_email": "x@example.org", "password": PASSWORD}),
                        content_type="application/json", **auth)
    assert api.status_code == 401
    assert here.get("/account/").status_code == 200
    assert len(_row_ids(here.get("/account/").content.decode())) == 1


def test_signing_out_ends_the_row(parent):
    client = signed_in(parent, FIREFOX, "192.0.2.10")
    client.post("/signout/")
    assert SignedInSession.objects.get(account=parent).ended_at is not None


def test_sessions_over_the_api(parent):
    """ASVS v5 7.5.2 for the mobile apps: list, end one, end all others; the token in use stays valid."""
    from schoolid.flows.tokens import issue_token

    browser = signed_in(parent, FIREFOX, "192.0.2.10")
    token = issue_token(None, parent, ["pwd"]).token
    other_token = issue_token(None, parent, ["pwd"]).token
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    listed = Client().get("/api/v1/flows/settings/sessions", **auth).json()
    assert len(listed) == 3 and sum(s["current"] for s in listed) == 1
    browser_row = SignedInSession.objects.get(user_agent=FIREFOX)
    assert Client().delete(f"/api/v1/flows/settings/sessions/{browser_row.pk}", **auth).status_code == 204
    assert browser.get("/account/")["Location"].startswith("/signin/")
    assert Client().post("/api/v1/flows/settings/sessions/end-others", **auth).status_code == 200
    assert Client().get("/api/v1/flows/session", HTTP_AUTHORIZATION=f"Bearer {other_token}").status_code == 401
    assert Client().get("/api/v1/flows/session", **auth).status_code == 200
    assert [s["current"] for s in Client().get("/api/v1/flows/settings/sessions", **auth).json()] == [True]
