"""Issue 12 item 8: the demo's sample application (/dev/app/) signs in through the provider and shows the ID token."""
import datetime
import time

import pytest
from django.test import Client as Browser

from schoolid.demo.views import register_demo_client
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_demo_app_signs_in_and_shows_the_id_token(settings):
    tree = f.org_tree()
    pupil = f.account("student", tree["class_a1"], password="maple river lantern quietly", birth_date=datetime.date(2005, 1, 1))
    f.activate(pupil)
    register_demo_client(["http://127.0.0.1"])
    b = Browser(HTTP_HOST="127.0.0.1")
    b.force_login(pupil, backend="schoolid.accounts.backends.AccountBackend")
    session = b.session
    session.update({"amr": ["pwd"], "auth_at": int(time.time()), "seen_at": int(time.time())})
    session.save()
    consent = b.get("/dev/app/start", follow=True)
    flow = consent.content.decode().split('action="/oidc/authorize/')[1].split('"')[0]
    page = b.post("/oidc/authorize/" + flow, {"decision": "allow"}, follow=True)
    text = page.content.decode()
    assert 'id="demo-app-id-token"' in text and "nonce matches" in text and tree["class_a1"].code in text


def test_demo_app_is_not_served_in_production_or_to_other_machines(settings):
    assert Browser(REMOTE_ADDR="192.0.2.1").get("/dev/app/").status_code == 404
