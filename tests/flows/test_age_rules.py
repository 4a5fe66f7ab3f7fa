"""Age rules from the profile's `age_threshold` (issue 6 item 5; seed 004): under it a pupil does not
register or activate alone, the parent acts from the family page; over it the pupil needs a contact of
their own. Enforced in the services (activation, registration), said plainly, no enumeration."""
import datetime
import re

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from schoolid.audit.models import AuditEvent
from schoolid.core.profiles import load_profile
from schoolid.directory.services import link_guardian
from schoolid.flows import activation
from schoolid.flows.age_rules import refusal_for_activation
from schoolid.flows.models import Flow, LinkToken
from schoolid.notify.models import OutboxMessage
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)
NEW = "zielony rower pod lasem"


def years_ago(years: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=int(365.25 * years) + 10)


@pytest.fixture
def poland(settings):
    settings.SCHOOLID_PROFILE = load_profile("pl")
    return f.org_tree()


def ask(identifier):
    return Client().post("/activate/", {"identifier": identifier}, HTTP_ACCEPT_LANGUAGE="en")


def test_a_young_pupil_cannot_activate_alone(poland):
    """Under the threshold: no e-mail goes out, the page is the same as for anyone (ASVS v5 6.3.8) and
    says who helps instead; the refusal is audited (ASVS v5 16.3.2)."""
    young = f.account("student", poland["class_a1"], email="kid@example.org", birth_date=years_ago(10))
    older = f.account("student", poland["class_a1"], email="teen@example.org", birth_date=years_ago(15))
    assert ask(young.person.national_id)["Location"] == ask(older.person.national_id)["Location"] == "/activate/sent/"
    assert list(OutboxMessage.objects.values_list("to", flat=True)) == ["teen@example.org"]
    event = AuditEvent.objects.get(action="activation.requested", target=young.user_code)
    assert event.result == "failure" and event.detail["reason"] == "under_age_threshold"
    hint = Client().get("/activate/sent/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="activation-age-hint"' in hint and "under 14" in hint


def test_a_link_does_not_activate_a_young_pupil_either(poland, smtp):
    """The service refuses at the end too (e.g. a link from an approved access request): a clear page."""
    young = f.account("student", poland["class_a1"], email="kid@example.org", birth_date=years_ago(9))
    now = timezone.now()
    flow = Flow.objects.create(kind="activation", state="link_sent", account=young, identifier_key="test", expires_at=now + datetime.timedelta(hours=1))
    from schoolid.credentials.generators import new_link_token, token_digest

    token = new_link_token()
    LinkToken.objects.create(flow=flow, purpose=activation.PURPOSE, digest=token_digest(token), expires_at=flow.expires_at)
    client = Client()
    page = client.get(f"/activate/{token}/", HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 403 and "under 14 cannot activate" in page.content.decode()
    posted = client.post(f"/activate/{token}/", {"new_password": NEW, "new_password_again": NEW}, HTTP_ACCEPT_LANGUAGE="en")
    assert posted.status_code == 403
    young.refresh_from_db()
    assert young.status == "not_activated" and not young.has_usable_password()
    with pytest.raises(activation.ActivationRefused):
        activation.finish(None, LinkToken.objects.select_related("flow__account__person").get(), NEW)


def test_an_older_pupil_needs_an_address_of_their_own(poland, smtp):
    """Over the threshold the pupil activates only through their own contact: an address the register
    shares with a parent does not count (NIST §4.2.1.3 — the parent is a recovery contact, not the pupil)."""
    teen = f.account("student", poland["class_a1"], email="family@example.org", birth_date=years_ago(15))
    parent = f.account(email="family@example.org")
    link_guardian(guardian=parent.person, student=teen.person, source="register")
    assert refusal_for_activation(teen) == "contact_not_own"
    ask(teen.person.national_id)
    assert not smtp.messages
    assert AuditEvent.objects.get(action="activation.requested").detail["reason"] == "contact_not_own"
    # With an address of their own it works.
    type(teen.person).objects.filter(pk=teen.person_id).update(email="teen@example.org")
    ask(teen.person.national_id)
    link = re.search(r"https?://\S+/activate/[A-Za-z0-9_-]+/", smtp.messages[-1][1]).group(0).replace(django_settings.BASE_URL, "")
    assert Client().post(link, {"new_password": NEW, "new_password_again": NEW}).status_code == 200
    teen.refresh_from_db()
    assert teen.status == "active"


def test_registration_under_the_threshold_points_to_the_parent(settings):
    """Self-registration: the typed birth date decides, with the profile's threshold in the message."""
    settings.SCHOOLID_PROFILE = load_profile("il")
    import random

    from schoolid.directory.national_ids import SCHEMES

    national_id = SCHEMES["il_teudat_zehut"].generate(random.Random(5))
    for age, refused in ((13, True), (14, False)):
        response = Client().post("/register/", {"national_id": national_id, "given_name": "Noa", "family_name": "Levi", "birth_date": years_ago(age).isoformat()},
                                 HTTP_ACCEPT_LANGUAGE="en")
        assert ("under 14 cannot register" in response.content.decode()) is refused
        assert (response.status_code == 302) is not refused


def test_the_threshold_comes_from_the_profile(settings, poland):
    """Data, not code: a profile with another threshold moves the line."""
    import dataclasses

    pupil = f.account("student", poland["class_a1"], email="p@example.org", birth_date=years_ago(15))
    assert refusal_for_activation(pupil) is None
    settings.SCHOOLID_PROFILE = dataclasses.replace(load_profile("pl"), age_threshold=16)
    assert refusal_for_activation(pupil) == "under_age_threshold"
