"""One-time codes sent by SMS or e-mail: 6 CSPRNG digits, bound to one flow and one purpose by an
HMAC (a 6-digit code is too short for a plain hash to protect), ≤ 10 minutes, single use. The only
module that writes OneTimeCode rows; journeys call it."""
from __future__ import annotations

import datetime
import hashlib
import hmac
import secrets

from django.conf import settings
from django.utils import timezone

from schoolid.core.digits import only_digits
from schoolid.flows.models import Flow, OneTimeCode

CODE_SECONDS = 10 * 60


def code_mac(flow: Flow, code: str, purpose: str) -> str:
    """The code bound to its flow and purpose: a sign-in code never works for recovery, or elsewhere."""
    message = f"{flow.pk}:{purpose}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def new_code(flow: Flow, purpose: str, *, expires_at: datetime.datetime | None = None) -> str:
    """A 6-digit code for `flow` and `purpose`, valid until `expires_at` (default: the flow's expiry,
    which is ≤ 10 minutes for code flows). Returns the code, which only the message carries."""
    code = f"{secrets.randbelow(10**6):06d}"
    OneTimeCode.objects.create(flow=flow, purpose=purpose, code_mac=code_mac(flow, code, purpose), expires_at=expires_at or flow.expires_at)
    return code


def new_short_code(flow: Flow, purpose: str) -> str:
    """A code that lives CODE_SECONDS even though its flow lives longer (registration)."""
    return new_code(flow, purpose, expires_at=timezone.now() + datetime.timedelta(seconds=CODE_SECONDS))


def void(flow: Flow, purposes: list[str]) -> int:
    """Unused codes of `flow` for `purposes` stop working (a new code replaces the old one)."""
    return OneTimeCode.objects.filter(flow=flow, purpose__in=purposes, used_at__isnull=True).update(used_at=timezone.now())


def spend_code(flow: Flow, typed: str, purpose: str) -> bool:
    """True, once, when `typed` (any digit script) is the flow's current unexpired code for `purpose`."""
    code = only_digits(typed)
    candidate = flow.codes.filter(purpose=purpose, used_at__isnull=True, expires_at__gt=timezone.now()).order_by("-created_at").first()
    if candidate is None or len(code) != 6 or not hmac.compare_digest(candidate.code_mac, code_mac(flow, code, purpose)):
        return False
    return OneTimeCode.objects.filter(pk=candidate.pk, used_at__isnull=True).update(used_at=timezone.now()) == 1
