"""The recovery send limits do not link two identifiers to one person (security requirements §3:
ASVS v5 6.3.8, FP-CS "no enumeration"). Recovery takes an e-mail, a mobile, a national ID or a user
code; all of one person's reach the same contact."""
import json

import pytest
from django.test import Client

from schoolid.core.profiles import load_profile
from tests import factories as f

pytestmark = pytest.mark.django_db


def _start(identifier: str) -> int:
    return Client().post("/api/v1/flows/recovery", json.dumps({"need": "password", "identifier": identifier}),
                         content_type="application/json").status_code


def test_a_busy_contact_does_not_tell_which_identifiers_share_it(settings, smtp):
    """ASVS v5 6.3.8: the attacker knows the victim's e-mail and wants to learn whether a user code
    is the same person's. They ask recovery by e-mail up to the limit, then once by the user code: the
    answer must be the one any other identifier gets (202), not a 429. (Old code: the shared
    per-destination count answered 429 for the victim's user code and 202 for anyone else's.)
    The mailbox still gets no more than the limit."""
    settings.SCHOOLID_PROFILE = load_profile("ru")
    settings.SMS_SEND_LIMIT = 3
    settings.FLOW_ANSWER_SECONDS = 0
    settings.LOGIN_IP_FAILURE_LIMIT = 1000
    t = f.org_tree()
    victim = f.account("guardian", t["school_a"], email="mama@example.org", email_verified=True)
    stranger = f.account("guardian", t["school_a"], email="papa@example.org", email_verified=True)
    assert [_start("mama@example.org") for _ in range(3)] == [202] * 3
    assert _start(victim.user_code) == _start(stranger.user_code) == 202
    assert sum(1 for m in smtp.messages if "mama@example.org" in str(m)) <= 3
