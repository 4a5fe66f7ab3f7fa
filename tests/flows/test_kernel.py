"""The flow kernel (issue 18): flows start only in a start state, move only along their state machine,
once, and are found only while live; link tokens are spent once."""
import datetime

import pytest
from django.utils import timezone

from schoolid.flows import kernel, links
from schoolid.flows.models import Flow

pytestmark = pytest.mark.django_db
K, S = Flow.Kind, Flow.State


def test_a_flow_starts_only_in_a_start_state():
    with pytest.raises(kernel.IllegalTransition):
        kernel.start(K.ACTIVATION, S.DONE, identifier_key="x", seconds=60)
    assert kernel.start(K.ACTIVATION, S.LINK_SENT, identifier_key="x", seconds=60).state == S.LINK_SENT


def test_a_flow_moves_only_along_its_transitions_and_only_once():
    flow = kernel.start(K.RECOVERY, S.CODE_SENT, identifier_key="x", seconds=60)
    with pytest.raises(kernel.IllegalTransition):
        kernel.move(flow, S.LINK_SENT)  # nothing ever goes back to "link sent"
    assert kernel.move(flow, S.PROVEN)
    stale = Flow.objects.get(pk=flow.pk)
    assert kernel.move(flow, S.DONE)
    stale.state = S.PROVEN
    assert not kernel.move(stale, S.DONE)  # a second request racing on the same flow moves nothing
    assert not kernel.move(Flow.objects.get(pk=flow.pk), S.PROVEN)  # done is final
    assert Flow.objects.get(pk=flow.pk).state == S.DONE


def test_expired_and_done_flows_are_not_found():
    live = kernel.start(K.PHONE_CHANGE, S.CODE_SENT, identifier_key="x", seconds=60)
    old = kernel.start(K.PHONE_CHANGE, S.CODE_SENT, identifier_key="x", expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert kernel.find(K.PHONE_CHANGE, live.pk) == live
    assert kernel.find(K.PHONE_CHANGE, old.pk) is None
    assert kernel.find(K.SMS_SIGNIN, live.pk) is None  # another kind
    kernel.move(live, S.DONE)
    assert kernel.find(K.PHONE_CHANGE, live.pk) is None


def test_a_link_is_spent_once_and_only_for_its_purpose():
    flow = kernel.start(K.ACTIVATION, S.LINK_SENT, identifier_key="x", seconds=60)
    token = links.issue(flow, "activation", flow.expires_at)
    assert links.usable(token, "recovery") is None
    assert links.spend_raw(token, "activation") is not None
    assert links.spend_raw(token, "activation") is None
    assert links.used(token, "activation") is not None
