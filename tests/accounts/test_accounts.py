"""Accounts: permanent user codes, never deleted; operators only in /admin/."""
import re

import pytest
from django.db import DatabaseError, connection, transaction

from schoolid.accounts.models import Account, PermanentFieldError
from schoolid.accounts.user_codes import ALPHABET, display_user_code, generate_user_code, normalize_user_code
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_user_code_format_and_check_symbol():
    codes = {generate_user_code() for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:200]:
        assert re.fullmatch(r"[A-HJKMNP-TV-Z][0-9A-HJKMNP-TV-Z]{8}", code)
        assert normalize_user_code(display_user_code(code).lower()) == code
        for i in range(1, 9):
            for ch in ALPHABET:
                if ch != code[i]:
                    assert normalize_user_code(code[:i] + ch + code[i + 1 :]) is None


def test_user_code_reads_look_alikes():
    code = "A0B1C2D3E"
    body = code[:-1]
    from schoolid.accounts.user_codes import _check_symbol

    valid = body + _check_symbol(body)
    assert normalize_user_code(valid.replace("0", "o").replace("1", "l")) == valid


def test_user_code_never_changes_and_accounts_are_never_deleted():
    acc = f.account()
    original = acc.user_code
    acc.user_code = generate_user_code()
    with pytest.raises(PermanentFieldError):
        acc.save()
    with pytest.raises(PermanentFieldError):
        Account.objects.get(pk=acc.pk).delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("UPDATE accounts_account SET user_code = 'ZZZZZZZZZ' WHERE id = %s", [acc.pk])
    assert Account.objects.get(pk=acc.pk).user_code == original


def test_user_code_has_no_personal_data():
    acc = f.account(given_name="Zahra", family_name="Ahmadi")
    assert acc.person.national_id not in acc.user_code
    assert not any(part.upper() in acc.user_code for part in ("ZAH", "AHM"))


def test_admin_is_for_ministry_admins_only(client):
    t = f.org_tree()
    operator = f.account("ministry_admin", t["ministry"], password="operator passphrase long")
    principal = f.account("principal", t["school_a"], password="principal passphrase long")
    f.activate(operator, principal)
    assert f.staff_client(principal).get("/admin/").status_code == 302
    # A password alone does not open /admin/, even for an operator.
    password_only = f.staff_client(operator)
    session = password_only.session
    session["amr"] = ["pwd"]
    session.save()
    assert password_only.get("/admin/").status_code == 302
    client = f.staff_client(operator)
    page = client.get("/admin/")
    assert page.status_code == 200
    assert client.get("/admin/accounts/account/").status_code == 200
    assert client.get("/admin/audit/auditevent/").status_code == 200


def test_admin_login_goes_through_the_throttled_signin(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


def test_no_default_accounts_on_a_fresh_install(client):
    """ASVS v5 6.3.2: default credential pairs fail."""
    for identifier, password in [("admin", "admin"), ("root", "root"), ("sa", "sa"), ("admin", "password")]:
        response = client.post("/signin/", {"identifier": identifier, "password": password})
        assert response.status_code == 200
    assert Account.objects.count() == 0
