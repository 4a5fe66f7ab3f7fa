"""Anti-automation on sending codes and links (ASVS v5 2.4.1; FP-CS): per identifier, per address and
per destination, counted over a window in counters every worker shares (core/counters.py)."""
import functools
import time

from django.conf import settings

from schoolid.audit.services import client_ip
from schoolid.core import counters


def count(key: str, window: int) -> int:
    """Add one to a counter that lives for `window` seconds; returns the new value."""
    return counters.hit(key, window)


def sending_allowed(request, channel: str, identifier: str, destination: str | None) -> bool:
    """Count this request; False once the identifier, the destination or (4x) the address has asked
    more than the limit within the window. The identifier is counted whether or not it exists."""
    window, limit = settings.SMS_SEND_WINDOW_SECONDS, settings.SMS_SEND_LIMIT
    ok = count(f"send:{channel}:id:{identifier}", window) <= limit
    ok = count(f"send:{channel}:ip:{client_ip(request)}", window) <= limit * 4 and ok
    if destination:
        ok = count(f"send:{channel}:to:{destination}", window) <= limit and ok
    return ok


def destination_allowed(channel: str, destination: str) -> bool:
    """Count a message to `destination`; False once it got more than the limit within the window. A
    flow that takes several identifiers of one person answers alike when this says no and sends
    nothing, so the limit does not tell that two identifiers share a contact (ASVS v5 6.3.8)."""
    return count(f"send:{channel}:to:{destination}", settings.SMS_SEND_WINDOW_SECONDS) <= settings.SMS_SEND_LIMIT


def answer_in_equal_time(start):
    """Let a flow's start take no less than FLOW_ANSWER_SECONDS, so whether it found an account (and
    made a code, a link and a message) does not show in the time the answer takes (ASVS v5 6.3.8)."""

    @functools.wraps(start)
    def padded(*args, **kwargs):
        began = time.monotonic()
        try:
            return start(*args, **kwargs)
        finally:
            left = settings.FLOW_ANSWER_SECONDS - (time.monotonic() - began)
            if left > 0:
                time.sleep(min(left, 5.0))

    return padded
