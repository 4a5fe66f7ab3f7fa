"""Issue 11 item 1: a recovery belongs to whoever proves control of the contact, not to whoever
started it (security requirements §3: FP-CS "User Resets Password", NIST §4.2.1.2, ASVS v5 6.3.8,
6.4.3). The attacker knows the victim's e-mail or number, starts the recovery, and waits for the
victim to open the genuine link."""
import json
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from schoolid.core.profiles import load_profile
from schoolid.flows.models import Flow
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
OLD, NEW, EVIL = "старый пароль очень длинный", "новый пароль тоже длинный", "пароль злоумышленника длинный"


@pytest.fixture
def victim(settings):
    settings.SCHOOLID_PROFILE = load_profile("ru")
    t = f.org_tree()
    return f.account("guardian", t["school_a"], password=OLD, email="mama@example.org", email_verified=True, mobile="89123456789", mobile_verified=True)


def post(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def token_in(smtp):
    return re.search(r"/recover/link/([A-Za-z0-9_-]+)/", smtp.messages[-1][1]).group(1)


def signs_in(account, password) -> bool:
    return Client().post("/signin/", {"identifier": account.user_code, "password": password}).get("Location") == "/account/"


def test_page_attack_starter_gains_nothing_from_the_victims_link(victim, smtp):
    """FP-CS "User Resets Password"; NIST §4.2.1.2: the attacker's browser starts the recovery, the
    victim opens the genuine link in their own browser; the attacker's browser can neither see the
    login nor set a password. The victim finishes in their own browser. (Old code: the attacker's
    /recover/finish/ showed the login and set the password.)"""
    attacker, victim_browser = Client(), Client()
    assert attacker.post("/recover/", {"need": "both", "identifier": "mama@example.org"})["Location"] == "/recover/sent/"
    assert victim_browser.get(f"/recover/link/{token_in(smtp)}/")["Location"] == "/recover/finish/"

    page = attacker.get("/recover/finish/")
    assert page.status_code == 302 and page["Location"] == "/recover/"
    taken = attacker.post("/recover/finish/", {"new_password": EVIL, "new_password_again": EVIL})
    assert taken.status_code == 302 and victim.display_code not in taken.content.decode()
    assert not signs_in(victim, EVIL) and signs_in(victim, OLD)

    # The victim's own completion still works, and shows the login only to them.
    assert victim.user_code[:3] in victim_browser.get("/recover/finish/").content.decode()
    assert victim_browser.post("/recover/finish/", {"new_password": NEW, "new_password_again": NEW}).status_code == 200
    assert signs_in(victim, NEW)


def test_page_attack_with_a_copied_session_flow_id_and_login_only(victim, smtp):
    """ASVS v5 6.3.8: asking for the login only discloses it to the browser that proved the contact,
    not to the one that asked."""
    attacker, victim_browser = Client(), Client()
    attacker.post("/recover/", {"need": "login", "identifier": "mama@example.org"})
    victim_browser.get(f"/recover/link/{token_in(smtp)}/")
    assert victim.user_code[:3] not in attacker.get("/recover/finish/", follow=True).content.decode()
    assert victim.user_code[:3] in victim_browser.get("/recover/finish/").content.decode()


def test_api_attack_flow_id_is_not_enough(victim, smtp):
    """FP-CS; NIST §4.2.1.2; ASVS v5 6.3.8: an API client that started the recovery holds the flow id;
    the victim opens the link in a browser. Finishing with the flow id answers as for an unproven
    flow: no password set, no login told. (Old code: 200 with the login, and the password changed.)"""
    started = post(Client(), "/api/v1/flows/recovery", {"need": "both", "identifier": "mama@example.org"})
    flow_id = started.json()["flow"]
    Client().get(f"/recover/link/{token_in(smtp)}/")
    assert Flow.objects.get(pk=flow_id).state == Flow.State.PROVEN
    for body in ({"new_password": EVIL}, {"new_password": EVIL, "binding": ""}, {"new_password": EVIL, "binding": "x" * 43}):
        answer = post(Client(), f"/api/v1/flows/recovery/{flow_id}/password", body)
        assert answer.status_code == 409 and victim.display_code not in answer.content.decode()
    assert not signs_in(victim, EVIL) and signs_in(victim, OLD)


def test_api_victim_opening_the_link_in_the_app_finishes(victim, smtp):
    """The client that opened the link gets the binding and is the only one that finishes; the link
    works once. The attacker who started it cannot use the victim's binding-less flow id."""
    attacker_flow = post(Client(), "/api/v1/flows/recovery", {"need": "both", "identifier": "mama@example.org"}).json()["flow"]
    app = Client()
    opened = post(app, "/api/v1/flows/recovery/link", {"token": token_in(smtp)})
    assert opened.status_code == 200 and opened.json()["flow"] == attacker_flow and len(opened.json()["binding"]) >= 43
    assert post(Client(), "/api/v1/flows/recovery/link", {"token": token_in(smtp)}).status_code == 410  # single use
    assert post(Client(), f"/api/v1/flows/recovery/{attacker_flow}/password", {"new_password": EVIL}).status_code == 409
    done = post(app, f"/api/v1/flows/recovery/{attacker_flow}/password", {"new_password": NEW, "binding": opened.json()["binding"]})
    assert done.status_code == 200 and done.json() == {"login": victim.display_code, "password_changed": True}
    assert signs_in(victim, NEW)
    # No cookie session of the app keeps the binding.
    assert django_settings.SESSION_COOKIE_NAME not in opened.cookies or "recovery_binding" not in app.session


def test_api_code_proof_binds_the_prover(victim, gateway):
    """NIST §4.2.1.2; ASVS v5 6.5.1: a code proof stays bound to its flow, and the finish needs the
    binding handed out with the proof."""
    client = Client()
    flow_id = post(client, "/api/v1/flows/recovery", {"need": "password", "identifier": "89123456789"}).json()["flow"]
    code = re.search(r"\b\d{6}\b", gateway.received[-1][1]["text"]).group(0)
    proven = post(client, f"/api/v1/flows/recovery/{flow_id}/code", {"code": code}).json()
    assert post(Client(), f"/api/v1/flows/recovery/{flow_id}/password", {"new_password": EVIL}).status_code == 409
    assert post(client, f"/api/v1/flows/recovery/{flow_id}/password", {"new_password": NEW, "binding": proven["binding"]}).status_code == 200
    assert signs_in(victim, NEW)
