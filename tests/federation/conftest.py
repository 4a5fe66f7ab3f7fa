"""A real provider for the federation tests: the stand-in IdP (/dev/idp/) served over HTTP by
Django's live server thread; SchoolID reaches it with real HTTP calls (discovery, JWKS, token,
userinfo) through Authlib, nothing mocked."""
from urllib.parse import urlsplit

import pytest
import requests

from schoolid.federation import services


class Journey:
    def __init__(self, client, provider):
        self.client, self.provider = client, provider

    def start(self):
        response = self.client.post(f"/signin/federated/{self.provider.name}/")
        assert response.status_code == 302, response.content[:500]
        return response["Location"]

    def provider_answer(self, authorize_url, *, national_id, verified=True, fault=""):
        """What the person does at the provider: pick who they are; returns the callback path+query."""
        base, _, query = authorize_url.partition("?")
        from urllib.parse import parse_qsl
        form = dict(parse_qsl(query))
        form.update({"national_id": national_id, "fault": fault})
        if verified:
            form["verified"] = "1"
        answer = requests.post(base, data=form, allow_redirects=False, timeout=10)
        assert answer.status_code == 302, answer.text[:300]
        parts = urlsplit(answer.headers["Location"])
        return f"{parts.path}?{parts.query}"

    def sign_in(self, *, national_id, verified=True, fault=""):
        callback = self.provider_answer(self.start(), national_id=national_id, verified=verified, fault=fault)
        return self.client.get(callback), callback


@pytest.fixture
def oidc_provider(live_server):
    return services.add_provider(name="gov", kind="oidc", issuer=live_server.url + "/dev/idp", client_id="schoolid-test",
                                 client_secret="a-long-test-secret", national_id_claim="national_id", label="GovID")


@pytest.fixture
def journey(client, oidc_provider):
    return Journey(client, oidc_provider)
