from django.db import models


class Counter(models.Model):
    """A counter a limit relies on (sending limits, throttles of unknown identifiers, attempts per
    flow or per address). It lives in the database so that every process of one deployment counts
    together, with or without Redis (issue 11 item 3); see core/counters.py."""

    name = models.CharField(max_length=200, primary_key=True)
    count = models.IntegerField(default=0)
    # A wait that is due (the throttle of an identifier that matches no account).
    until = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)
