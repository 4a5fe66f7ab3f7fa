"""Security questions: a legacy option, off by default (security requirements §3 KBA item, C2;
NIST §3.1.1.2(8), §4.2.1; ASVS v5 6.4.2; SQ-CS)."""
import dataclasses
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client

from schoolid.accounts.models import Account
from schoolid.core.profiles import load_profile
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "old long password here"


def test_kba_endpoints_are_404_by_default(settings):
    settings.SCHOOLID_PROFILE = load_profile("bd")
    t = f.org_tree()
    parent = f.account("guardian", t["school_a"], password=PASSWORD)
    client = f.staff_client(parent)
    assert client.get("/account/security-question/").status_code == 404
    assert Client().get("/recover/question/").status_code == 404
    assert "security_question" not in Client().get("/api/openapi.json").content.decode()


@pytest.fixture
def legacy(settings):
    settings.SCHOOLID_PROFILE = dataclasses.replace(load_profile("bd"), legacy_security_questions=True)
    t = f.org_tree()
    return f.account("guardian", t["school_a"], password=PASSWORD, email="ma@example.org", email_verified=True)


def test_setting_the_answer_needs_the_password(legacy):
    client = f.staff_client(legacy)
    assert client.post("/account/security-question/", {"question": "first_school", "answer": "Dhaka Model", "password": "wrong"}).status_code == 200
    from schoolid.accounts.security_questions import SecurityAnswer

    assert not SecurityAnswer.objects.exists()
    assert client.post("/account/security-question/", {"question": "first_school", "answer": "Dhaka  MODEL", "password": PASSWORD})["Location"] == "/account/"
    stored = SecurityAnswer.objects.get()
    assert "dhaka" not in stored.answer_hash.lower() and stored.answer_hash.startswith("argon2$")


def test_question_only_after_the_link_and_wrong_answers_count(legacy, smtp):
    client = f.staff_client(legacy)
    client.post("/account/security-question/", {"question": "first_teacher", "answer": "Rahman", "password": PASSWORD})
    # Answers alone never recover: without the link there is no question to answer.
    assert Client().post("/recover/question/", {"answer": "rahman"})["Location"] == "/recover/"
    recover = Client()
    recover.post("/recover/", {"need": "password", "identifier": "ma@example.org"})
    link = re.search(r"https?://\S+/recover/link/[A-Za-z0-9_-]+/", smtp.messages[-1][1]).group(0).replace(django_settings.BASE_URL, "")
    assert recover.get(link)["Location"] == "/recover/question/"
    first = recover.get("/recover/question/").content.decode()
    assert recover.post("/recover/question/", {"answer": "Smith"}).status_code == 200
    assert Account.objects.get(pk=legacy.pk).failed_logins == 1  # counted as a failed sign-in
    again = recover.get("/recover/question/").content.decode()
    question = lambda html: re.search(r'id="question-text">([^<]+)<', html).group(1)
    assert question(first) == question(again)  # the same question until answered
    assert recover.get("/recover/finish/")["Location"] == "/recover/"  # not past the question yet
    assert recover.post("/recover/question/", {"answer": "  RAHMAN "})["Location"] == "/recover/finish/"
    recover.post("/recover/finish/", {"new_password": "a brand new long password", "new_password_again": "a brand new long password"})
    assert Client().post("/signin/", {"identifier": legacy.user_code, "password": "a brand new long password"})["Location"] == "/account/"
