"""The flow kernel (as Ory Kratos shapes selfservice/flow/*/flow.go): a journey starts a flow here,
moves it only along the transitions below, and finds it only while it is live (not expired, in the
states the step expects). Journeys keep their own rules; the states and their order live here.

The browser holds only the flow id, in its session or an API flow key; everything else is the row.
docs/flows.md draws these state machines."""
from __future__ import annotations

import datetime

from django.db.models import QuerySet
from django.utils import timezone

from schoolid.flows.models import Flow

K, S = Flow.Kind, Flow.State

# kind -> the states a flow may start in, and state -> the states it may move to.
STARTS: dict[str, frozenset[str]] = {
    K.SMS_SIGNIN: frozenset({S.CODE_SENT}),
    K.ACTIVATION: frozenset({S.LINK_SENT}),
    K.RECOVERY: frozenset({S.LINK_SENT, S.CODE_SENT}),
    K.EMAIL_CHANGE: frozenset({S.LINK_SENT}),
    K.PHONE_CHANGE: frozenset({S.CODE_SENT}),
    K.REGISTRATION: frozenset({S.STARTED}),
    K.AUTHORIZATION: frozenset({S.STARTED}),
    K.FEDERATED: frozenset({S.STARTED}),
}
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    K.SMS_SIGNIN: {S.CODE_SENT: frozenset({S.DONE})},
    K.ACTIVATION: {S.LINK_SENT: frozenset({S.DONE})},
    K.RECOVERY: {
        # Proven by the e-mailed link or the SMS code; the legacy security question may follow.
        S.LINK_SENT: frozenset({S.PROVEN, S.NEEDS_ANSWER, S.DONE}),
        S.CODE_SENT: frozenset({S.PROVEN, S.NEEDS_ANSWER, S.DONE}),
        S.NEEDS_ANSWER: frozenset({S.PROVEN, S.DONE}),
        S.PROVEN: frozenset({S.PROVEN, S.NEEDS_ANSWER, S.DONE}),
    },
    # A newer request supersedes a pending one: LINK_SENT -> DONE without a confirmation.
    K.EMAIL_CHANGE: {S.LINK_SENT: frozenset({S.DONE})},
    K.PHONE_CHANGE: {S.CODE_SENT: frozenset({S.DONE})},
    K.REGISTRATION: {
        S.STARTED: frozenset({S.CODE_SENT, S.DONE}),
        S.CODE_SENT: frozenset({S.CODE_SENT, S.LINK_SENT, S.DONE}),  # codes sent again; the account made
        S.LINK_SENT: frozenset({S.DONE}),
    },
    # An application's authorization request (provider app): answered (code or error) -> done; a
    # pupil under the age threshold waits for a guardian, who approves (then the code) or refuses.
    K.AUTHORIZATION: {
        S.STARTED: frozenset({S.AWAITING_GUARDIAN, S.DONE}),
        S.AWAITING_GUARDIAN: frozenset({S.APPROVED, S.DONE}),
        S.APPROVED: frozenset({S.DONE}),
    },
    # Sent to the provider; back with a verified identity that still needs the password to link.
    K.FEDERATED: {S.STARTED: frozenset({S.PROVEN, S.DONE}), S.PROVEN: frozenset({S.DONE})},
}


class IllegalTransition(ValueError):
    """A journey asked for a move its state machine does not have (a programming error)."""


def start(kind: str, state: str, *, identifier_key: str, seconds: int | None = None, expires_at: datetime.datetime | None = None,
          **fields) -> Flow:
    """A new flow of `kind` in one of its start states, expiring after `seconds` (or at `expires_at`)."""
    if state not in STARTS[kind]:
        raise IllegalTransition(f"{kind} cannot start in {state}")
    if expires_at is None:
        expires_at = timezone.now() + datetime.timedelta(seconds=seconds)
    return Flow.objects.create(kind=kind, state=state, identifier_key=identifier_key, expires_at=expires_at, **fields)


def sources(kind: str, to: str) -> list[str]:
    """The states from which a flow of `kind` may move to `to`."""
    return [state for state, targets in TRANSITIONS[kind].items() if to in targets]


def move(flow: Flow, to: str, *, only_from: tuple[str, ...] | None = None, **fields) -> bool:
    """Move `flow` to `to` (with `fields` written alongside) if the row still sits in a state that may
    go there (and in `only_from`, when given). One conditional UPDATE, so two requests racing on
    the same flow move it once. Returns whether it moved; `flow` is updated in place."""
    allowed = sources(flow.kind, to)
    if not allowed:
        raise IllegalTransition(f"{flow.kind} never moves to {to}")
    if only_from is not None:
        allowed = [state for state in allowed if state in only_from]
    moved = Flow.objects.filter(pk=flow.pk, state__in=allowed).update(state=to, **fields) == 1
    if moved:
        flow.state = to
        for name, value in fields.items():
            setattr(flow, name, value)
    return moved


def keep(flow: Flow, **fields) -> None:
    """Write what a step collected (`data`, ...) without moving the flow."""
    if "state" in fields:
        raise IllegalTransition("states change through move()")
    Flow.objects.filter(pk=flow.pk).update(**fields)
    for name, value in fields.items():
        setattr(flow, name, value)


def supersede(kind: str, to: str = S.DONE, **filters) -> int:
    """Move every flow of `kind` matching `filters` that may go to `to` (a newer request replaces
    the pending ones; abandoned journeys are closed)."""
    return Flow.objects.filter(kind=kind, state__in=sources(kind, to), **filters).update(state=to)


def close_expired(kind: str, states: list[str], **fields) -> int:
    """Flows of `kind` left in `states` past their expiry are done; `fields` (e.g. data={}) forget
    what they held."""
    for state in states:
        if S.DONE not in TRANSITIONS[kind].get(state, ()):
            raise IllegalTransition(f"{kind} never moves from {state} to done")
    return Flow.objects.filter(kind=kind, state__in=states, expires_at__lt=timezone.now()).update(state=S.DONE, **fields)


def live(kind: str, **filters) -> QuerySet[Flow]:
    """Flows of `kind` that have not expired (callers add the state and owner they expect)."""
    return Flow.objects.filter(kind=kind, expires_at__gt=timezone.now(), **filters)


def find(kind: str, flow_id, *, states: tuple[str, ...] | None = None, expired_ok: bool = False, **filters) -> Flow | None:
    """The flow with this id if it is of `kind`, in one of `states` (None: any but done) and, unless
    `expired_ok`, not expired."""
    if not flow_id:
        return None
    qs = Flow.objects.filter(kind=kind, **filters) if expired_ok else live(kind, **filters)
    qs = qs.filter(state__in=states) if states else qs.exclude(state=S.DONE)
    return qs.select_related("account__person").filter(pk=flow_id).first()
