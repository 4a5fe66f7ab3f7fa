"""ESIA profile (issue 16): the signed client_secret through both signer plug-ins, and the whole
journey against the stand-in's ESIA-style endpoints (static certificate, /rs/prns/{oid}, SNILS)."""
import base64
import datetime
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest

from schoolid.accounts.models import Account
from schoolid.core.profiles import load_profile
from schoolid.federation import services, signers, standin
from schoolid.federation.models import FederatedLink
from tests import factories
from tests.federation.conftest import Journey

OPENSSL = shutil.which("openssl")
needs_openssl = pytest.mark.skipif(OPENSSL is None, reason="openssl not installed")


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _verify(tmp_path, signature: bytes, message: bytes, cert: str) -> bool:
    (tmp_path / "sig.der").write_bytes(signature)
    (tmp_path / "msg.bin").write_bytes(message)
    run = subprocess.run([OPENSSL, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(tmp_path / "sig.der"), "-content", str(tmp_path / "msg.bin"),
                          "-CAfile", cert, "-out", "/dev/null"], capture_output=True, timeout=30)
    return run.returncode == 0


def test_esia_timestamp_format():
    stamp = signers.esia_timestamp(datetime.datetime(2026, 12, 6, 23, 5, 1, tzinfo=datetime.UTC))
    assert stamp == "2026.12.06 23:05:01 +0000"


@needs_openssl
def test_pkcs7_signer_signature_verifies_and_fails_on_other_message(tmp_path):
    key, cert = signers.generate_rsa_pair(tmp_path)
    signer = signers.signer_from(f"pkcs7:{key}:{cert}")
    message = "client" + "openid snils" + "2026.12.06 23:05:01 +0000" + "state" + "https://x/cb"
    secret = signers.client_secret(signer, message)
    assert "=" not in secret and "+" not in secret and "/" not in secret
    assert _verify(tmp_path, _unb64url(secret), message.encode(), cert)
    assert not _verify(tmp_path, _unb64url(secret), (message + "code").encode(), cert)
    assert len(signer.certificate_hash()) == 64


@needs_openssl
def test_external_command_signer_with_openssl_cms(tmp_path):
    """The plug-in for a GOST signer such as cryptcp, exercised with `openssl cms -sign` as the command."""
    key, cert = signers.generate_rsa_pair(tmp_path)
    signer = signers.signer_from(f"command:{OPENSSL} cms -sign -binary -outform DER -signer {cert} -inkey {key} --cert-for-hash={cert}")
    message = b"client-idopenid2026.12.06 23:05:01 +0000statehttps://x/cbCODE"
    signature = signer.sign(message)
    assert _verify(tmp_path, signature, message, cert)
    assert signer.certificate_hash() == signers.Pkcs7Signer(key, cert).certificate_hash()
    with pytest.raises(signers.SignerError):
        signers.signer_from(f"command:{OPENSSL} cms -sign -signer /nonexistent").sign(message)


@pytest.fixture
def russia(settings):
    settings.SCHOOLID_PROFILE = load_profile("ru")


@pytest.fixture
def esia(live_server, russia, tmp_path):
    key, cert = signers.generate_rsa_pair(tmp_path)
    return services.add_provider(name="esia", kind="esia", issuer=live_server.url + "/dev/idp/esia", client_id="SCHOOLID01",
                                 label="Gosuslugi", signer=f"pkcs7:{key}:{cert}", provider_certificate=standin.certificate_pem())


@pytest.mark.django_db(transaction=True)
def test_esia_authorize_carries_signed_client_secret_and_pkce(esia, client, tmp_path):
    location = Journey(client, esia).start()
    assert urlsplit(location).path.endswith("/aas/oauth2/v2/ac")
    q = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert q["code_challenge_method"] == "S256" and q["client_certificate_hash"] and q["timestamp"].count(".") == 2
    message = q["client_id"] + q["scope"] + q["timestamp"] + q["state"] + q["redirect_uri"]
    if OPENSSL:
        assert _verify(tmp_path, _unb64url(q["client_secret"]), message.encode(), esia.signer.split(":")[2])


@pytest.mark.django_db(transaction=True)
def test_esia_activation_by_snils_and_refusal_of_unverified_account(esia, client):
    """Seed 004: a register person (SNILS) activated through ESIA; an unverified (not is_tru) account over 14 refused."""
    person_account = factories.account(birth_date=datetime.date(2009, 3, 4))  # over 14
    response, _ = Journey(client, esia).sign_in(national_id=person_account.person.national_id, verified=False)
    assert response.status_code == 400 and not FederatedLink.objects.exists()
    response, _ = Journey(client, esia).sign_in(national_id=person_account.person.national_id, verified=True)
    assert response.status_code == 302 and response["Location"] == "/account/", response.content[:300]
    person_account.refresh_from_db()
    assert person_account.status == Account.Status.ACTIVE
    assert FederatedLink.objects.get().account == person_account


@pytest.mark.django_db(transaction=True)
def test_esia_token_signed_by_another_key_is_refused(esia, client):
    """OIDC §3.1.3.7: the ID token must verify with the configured provider certificate."""
    person_account = factories.account(birth_date=datetime.date(1980, 3, 4))
    response, _ = Journey(client, esia).sign_in(national_id=person_account.person.national_id, fault="wrong_key")
    assert response.status_code == 400 and not FederatedLink.objects.exists()
