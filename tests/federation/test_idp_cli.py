import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from schoolid.federation import secrets
from schoolid.federation.models import IdentityProvider


@pytest.mark.django_db
def test_idp_add_json_list_disable(capsys, settings):
    call_command("idp", "add", "gov", "--kind", "oidc", "--issuer", "https://id.example.gov", "--client-id", "sid", "--client-secret", "s3cr3t-value",
                 "--national-id-claim", "pesel", "--label", "login.gov.pl", "--json")
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(last) == {"name": "gov", "redirect_uri": f"{settings.BASE_URL}/signin/federated/gov/callback/"}
    provider = IdentityProvider.objects.get(name="gov")
    # Stored encrypted, never in clear.
    assert "s3cr3t-value" not in provider.encrypted_client_secret and secrets.unseal(provider.encrypted_client_secret) == "s3cr3t-value"
    call_command("idp", "list")
    assert "gov\toidc\tenabled" in capsys.readouterr().out
    call_command("idp", "disable", "gov")
    provider.refresh_from_db()
    assert not provider.enabled
    with pytest.raises(CommandError):
        call_command("idp", "add", "gov", "--kind", "oidc", "--issuer", "https://x", "--client-id", "y")
    with pytest.raises(CommandError):
        call_command("idp", "add", "bad", "--kind", "oidc", "--issuer", "not a url", "--client-id", "y")


@pytest.mark.django_db
def test_esia_add_fills_the_configured_endpoints():
    call_command("idp", "add", "esia", "--kind", "esia", "--issuer", "https://esia.gosuslugi.ru", "--client-id", "SID")
    p = IdentityProvider.objects.get(name="esia")
    assert p.authorization_endpoint.endswith("/aas/oauth2/v2/ac") and p.token_endpoint.endswith("/aas/oauth2/v3/te")
    assert p.person_endpoint.endswith("/rs/prns/{oid}") and "snils" in p.scopes


def test_standin_is_never_served_in_production(settings):
    """Issue 16: the stand-in national provider exists in the embedded mode only."""
    import importlib

    from django.urls import clear_url_caches

    import schoolid.urls

    assert any("dev/idp" in str(p.pattern) for p in schoolid.urls.urlpatterns)
    settings.PRODUCTION = True
    try:
        production = importlib.reload(schoolid.urls)
        assert not any("dev/idp" in str(p.pattern) for p in production.urlpatterns)
    finally:
        settings.PRODUCTION = False
        importlib.reload(schoolid.urls)
        clear_url_caches()


@pytest.mark.django_db
def test_standin_sends_codes_only_back_to_schoolid(client):
    """The stand-in is no open redirector: a foreign redirect_uri gets an error, no redirect."""
    base = {"client_id": "x", "state": "s", "code_challenge": "c" * 43, "code_challenge_method": "S256", "response_type": "code"}
    foreign = client.get("/dev/idp/authorize", {**base, "redirect_uri": "https://evil.example/signin/federated/gov/callback/"})
    assert foreign.status_code == 400
    plain = client.get("/dev/idp/authorize", {**base, "code_challenge_method": "plain", "redirect_uri": "http://testserver/signin/federated/gov/callback/"})
    assert plain.status_code == 400
    ours = client.get("/dev/idp/authorize", {**base, "redirect_uri": "http://testserver/signin/federated/gov/callback/"})
    assert ours.status_code == 200 and b"standin-national-id" in ours.content
