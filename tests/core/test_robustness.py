"""Bad input gets a clear answer, never a server error (house rule): any text, including NUL bytes and
control characters that PostgreSQL cannot store, into every public input."""
import json

import pytest
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from schoolid.core.profiles import load_profile

pytestmark = pytest.mark.django_db
ANY_TEXT = st.text(max_size=60) | st.sampled_from(["\x00", "a\x00b", "۰۱۲\x00", "\r\n{}", "' OR 1=1 --", "x" * 300])
FUZZ = hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(text=ANY_TEXT)
def test_api_flows_never_fail(text, settings):
    settings.SCHOOLID_PROFILE = load_profile("ru")
    client = Client()
    for path, body in [
        ("/api/v1/flows/recovery", {"need": "both", "identifier": text}),
        ("/api/v1/flows/sms-signin", {"national_id": text}),
        ("/api/v1/flows/activation", {"identifier": text}),
        ("/api/v1/flows/recovery/" + "0" * 8 + "-0000-0000-0000-" + "0" * 12 + "/code", {"code": text}),
    ]:
        assert client.post(path, json.dumps(body), content_type="application/json").status_code < 500
    assert client.get("/api/v1/flows/help", {"q": text}).status_code < 500


@FUZZ
@given(text=ANY_TEXT)
def test_pages_never_fail(text):
    client = Client()
    assert client.post("/signin/", {"identifier": text, "password": text}).status_code < 500
    assert client.get("/help/", {"q": text}).status_code < 500
    assert client.get("/help/", {"school": text}).status_code < 500
    assert client.post("/signin/sms/", {"national_id": text}).status_code < 500
