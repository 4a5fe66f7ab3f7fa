"""Issuing one-time secrets: scope, all-or-nothing, idempotency, audit, expiry, first-use change.

ASVS v5 6.4.1 (random, expiring, forced change), 6.4.6 (admins never choose or see a chosen
password), 8.2.2 (scoped), 16.3.x (audit).
"""
import datetime
import re

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.utils import timezone

from schoolid.accounts.models import Account
from schoolid.audit.models import AuditEvent
from schoolid.credentials.generators import SECRET_ALPHABET, generate_secret, normalize_secret
from schoolid.credentials.models import IssuanceBatch, IssuedSecret
from schoolid.credentials.services import IssuanceRefused, issue_secrets, new_idempotency_key
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def school():
    t = f.org_tree()
    principal = f.account("principal", t["school_a"])
    students = [f.account("student", t["class_a1"]) for _ in range(5)]
    other = f.account("student", t["class_b1"])
    f.activate(principal)
    return t, principal, students, other


def test_secret_entropy_and_alphabet():
    secrets = {generate_secret() for _ in range(5000)}
    assert len(secrets) == 5000
    for s in list(secrets)[:100]:
        assert re.fullmatch(r"[2-9A-HJKMNP-TW-Z]{5}-[2-9A-HJKMNP-TW-Z]{5}-[2-9A-HJKMNP-TW-Z]{5}", s)
        assert normalize_secret(s.lower().replace("-", " ")) == s
    # ≥ 60 bits (design.md), and ≥ 15 characters so it meets the single-factor length too.
    import math

    assert 15 * math.log2(len(SECRET_ALPHABET)) >= 60
    assert not set("01ILOU") & set(SECRET_ALPHABET)


def test_group_issue_writes_hashes_audits_and_kills_old_passwords(school):
    t, principal, students, _other = school
    from schoolid.accounts.services import set_password

    set_password(students[0], "old password of the student")
    result = issue_secrets(principal, students, idempotency_key=new_idempotency_key())
    assert len(result.items) == 5 and not result.replayed
    stored = IssuedSecret.objects.filter(batch=result.batch)
    assert stored.count() == 5
    for item in result.items:
        # Only hashes are stored; the plain secret appears nowhere in the database.
        assert not IssuedSecret.objects.filter(secret_hash__contains=item.secret).exists()
        assert item.link.startswith("http://127.0.0.1:8000/signin/slip/") and len(item.link.rsplit("/", 2)[1]) >= 43
    students[0].refresh_from_db()
    assert not check_password("old password of the student", students[0].password)
    parent = AuditEvent.objects.get(action="credentials.group_issue")
    children = AuditEvent.objects.filter(action="credentials.issue", parent_id=parent.pk)
    assert children.count() == 5 and parent.detail["count"] == 5
    assert {e.target for e in children} == {s.user_code for s in students}
    # No audit event or log carries a secret.
    for item in result.items:
        assert not AuditEvent.objects.filter(detail__icontains=item.secret).exists()


def test_double_submit_issues_once(school):
    _t, principal, students, _other = school
    key = new_idempotency_key()
    first = issue_secrets(principal, students, idempotency_key=key)
    second = issue_secrets(principal, students, idempotency_key=key)
    assert second.replayed and second.items is None and second.batch.pk == first.batch.pk
    assert IssuedSecret.objects.count() == 5 and IssuanceBatch.objects.count() == 1


def test_one_refusal_issues_nothing(school):
    _t, principal, students, other = school
    with pytest.raises(IssuanceRefused) as excinfo:
        issue_secrets(principal, students + [other], idempotency_key=new_idempotency_key())
    assert excinfo.value.refused == [other]
    assert IssuedSecret.objects.count() == 0 and IssuanceBatch.objects.count() == 0
    denied = AuditEvent.objects.get(action="scope.denied")
    assert denied.target == other.user_code and denied.actor == principal.user_code


def test_failure_midway_leaves_nothing(school, monkeypatch):
    _t, principal, students, _other = school
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    # The last write of the batch fails: everything before it must be rolled back.
    monkeypatch.setattr(AuditEvent.objects, "bulk_create", broken)
    with pytest.raises(RuntimeError):
        issue_secrets(principal, students, idempotency_key=new_idempotency_key())
    assert IssuedSecret.objects.count() == 0 and IssuanceBatch.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="credentials").exists()
    students[0].refresh_from_db()
    assert students[0].must_change_password is False


def test_reissue_revokes_the_previous_secret(school):
    _t, principal, students, _other = school
    first = issue_secrets(principal, students[:1], idempotency_key=new_idempotency_key())
    issue_secrets(principal, students[:1], idempotency_key=new_idempotency_key())
    client = Client()
    response = client.post("/signin/", {"identifier": students[0].person.national_id, "password": first.items[0].secret})
    assert response.status_code == 200  # the old secret no longer works


def test_secret_signs_in_once_then_forces_a_new_password(school):
    """ASVS v5 6.4.1: the initial secret cannot become the long-term password."""
    _t, principal, students, _other = school
    item = issue_secrets(principal, students[:1], idempotency_key=new_idempotency_key()).items[0]
    client = Client()
    response = client.post("/signin/", {"identifier": item.login_id, "password": item.secret.lower()})
    assert response.status_code == 302 and response["Location"] == "/signin/new-password/"
    assert client.get("/account/").status_code == 302  # not signed in yet
    weak = client.post("/signin/new-password/", {"new_password": "short", "new_password_again": "short"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "at least 15 characters" in weak.content.decode()
    done = client.post("/signin/new-password/", {"new_password": "purple otter juggles kites", "new_password_again": "purple otter juggles kites"})
    assert done.status_code == 302 and done["Location"] == "/account/"
    account = Account.objects.get(pk=students[0].pk)
    assert account.status == "active" and account.activated_at is not None
    # The secret is spent; the chosen password works.
    again = Client().post("/signin/", {"identifier": item.login_id, "password": item.secret})
    assert again.status_code == 200
    assert Client().post("/signin/", {"identifier": item.login_id, "password": "purple otter juggles kites"}).status_code == 302


def test_secret_expires(school):
    _t, principal, students, _other = school
    item = issue_secrets(principal, students[:1], idempotency_key=new_idempotency_key()).items[0]
    IssuedSecret.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = Client().post("/signin/", {"identifier": item.login_id, "password": item.secret})
    assert response.status_code == 200


def test_qr_link_works_once(school):
    _t, principal, students, _other = school
    item = issue_secrets(principal, students[:1], idempotency_key=new_idempotency_key()).items[0]
    path = item.link.replace("http://127.0.0.1:8000", "")
    client = Client()
    page = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200 and students[0].person.given_name in page.content.decode()
    assert client.post(path, {"password": "WRONG-WRONG-WRONG"}).status_code == 200
    response = client.post(path, {"password": item.secret})
    assert response.status_code == 302 and response["Location"] == "/signin/new-password/"
    assert Client().get(path).status_code == 404


def test_no_admin_path_sets_a_chosen_password():
    """ASVS v5 6.4.6: no "set password for user X" anywhere in the staff API."""
    import json

    doc = Client().get("/api/openapi.json").json()
    staff_ops = {path: ops for path, ops in doc["paths"].items() if path.startswith("/api/v1/console/")}
    assert staff_ops
    referenced = json.dumps(staff_ops)
    schemas = {name: body for name, body in doc["components"]["schemas"].items() if f"#/components/schemas/{name}" in referenced}
    for name, body in schemas.items():
        fields = set(body.get("properties", {}))
        assert not fields & {"password", "new_password"}, name
