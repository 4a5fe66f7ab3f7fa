"""First activation from the register (seed 002): security requirements §3 (same answer, token entropy,
expiry, single use, base URL, no-referrer, no auto sign-in)."""
import datetime
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from schoolid.core.profiles import load_profile
from schoolid.flows.models import LinkToken
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
NEW = "zielony rower pod lasem"


@pytest.fixture
def pupil(settings):
    settings.SCHOOLID_PROFILE = load_profile("pl")
    t = f.org_tree()
    return f.account("student", t["class_a1"], email="Zofia.Nowak@Example.org", birth_date=datetime.date(2011, 3, 4))


def ask(client, identifier, **extra):
    return client.post("/activate/", {"identifier": identifier}, HTTP_ACCEPT_LANGUAGE="en", **extra)


def link_from(smtp):
    body = smtp.messages[-1][1]
    return re.search(r"https?://\S+/activate/[A-Za-z0-9_-]+/", body).group(0), body


def test_activation_by_pesel_then_sign_in_with_the_e_mail(pupil, smtp):
    client = Client()
    assert ask(client, pupil.person.national_id)["Location"] == "/activate/sent/"
    link, body = link_from(smtp)
    assert smtp.messages[-1][0] == ["zofia.nowak@example.org"] and "zofia.nowak@example.org" in body
    assert link.startswith(django_settings.BASE_URL + "/activate/") and len(link.rstrip("/").rsplit("/", 1)[1]) >= 43
    path = link.replace(django_settings.BASE_URL, "")
    page = client.get(path)
    assert page.status_code == 200 and page["Referrer-Policy"] == "no-referrer"
    weak = client.post(path, {"new_password": "krótkie", "new_password_again": "krótkie"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "at least 15" in weak.content.decode()
    done = client.post(path, {"new_password": NEW, "new_password_again": NEW}, HTTP_ACCEPT_LANGUAGE="en")
    assert done.status_code == 200 and "zofia.nowak@example.org" in done.content.decode()
    # Not signed in automatically (FP-CS "User Resets Password").
    assert client.get("/account/").status_code == 302
    assert Client().post("/signin/", {"identifier": "zofia.nowak@example.org", "password": NEW})["Location"] == "/account/"
    # The link works once.
    again = Client().get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert again.status_code == 410 and 'id="start-again"' in again.content.decode()


def test_only_the_digest_of_the_token_is_stored(pupil, smtp):
    ask(Client(), pupil.person.national_id)
    link, _body = link_from(smtp)
    token = link.rstrip("/").rsplit("/", 1)[1]
    stored = LinkToken.objects.get()
    assert token not in stored.digest and len(stored.digest) == 64


def test_same_answer_for_unknown_ids_and_no_mail(pupil, smtp):
    known, unknown = ask(Client(), pupil.person.national_id), ask(Client(), "44051401359")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(smtp.messages) == 1


def test_expired_link_is_refused_with_a_way_to_start_again(pupil, smtp):
    ask(Client(), pupil.person.national_id)
    link, _body = link_from(smtp)
    LinkToken.objects.update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = Client().get(link.replace(django_settings.BASE_URL, ""), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 410 and "Start again" in response.content.decode()


def test_link_lifetime_defaults_to_one_hour_and_never_exceeds_a_day(pupil, smtp, settings):
    ask(Client(), pupil.person.national_id)
    token = LinkToken.objects.get()
    assert abs((token.expires_at - token.created_at).total_seconds() - 3600) < 5
    settings.LINK_TOKEN_SECONDS = 10 * 24 * 3600
    ask(Client(), pupil.person.national_id)
    longest = LinkToken.objects.order_by("-created_at").first()
    assert (longest.expires_at - longest.created_at).total_seconds() <= 24 * 3600 + 5


def test_link_uses_the_base_url_not_the_host_header(pupil, smtp):
    ask(Client(), pupil.person.national_id, HTTP_HOST="evil.example")
    link, _body = link_from(smtp)
    assert link.startswith(django_settings.BASE_URL) and "evil.example" not in link


def test_e_mail_works_as_identifier_only_after_activation(pupil, smtp):
    ask(Client(), "zofia.nowak@example.org")
    assert smtp.messages == []


def test_not_offered_where_the_principal_issues_passwords(settings):
    settings.SCHOOLID_PROFILE = load_profile("ir")
    assert Client().get("/activate/").status_code == 404


def test_the_first_activation_is_by_pesel_not_by_the_e_mail(pupil, smtp):
    """Seed 002 (eSzkoła): "the first time it must be the PESEL". The register's e-mail of a
    never-activated account gets nothing and the same answer as an unknown address; once the account
    was activated, the e-mail starts a later activation (recovery) too."""
    from schoolid.directory.models import Person

    Person.objects.filter(pk=pupil.person_id).update(email_verified=True)
    by_email, unknown = ask(Client(), "zofia.nowak@example.org"), ask(Client(), "nobody@example.org")
    assert (by_email.status_code, by_email["Location"]) == (unknown.status_code, unknown["Location"]) == (302, "/activate/sent/")
    assert smtp.messages == []
    f.activate(pupil)
    assert ask(Client(), "zofia.nowak@example.org")["Location"] == "/activate/sent/"
    assert len(smtp.messages) == 1 and smtp.messages[0][0] == ["zofia.nowak@example.org"]
