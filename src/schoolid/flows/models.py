import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Flow(models.Model):
    """One self-service journey (Ory Kratos style): an id, a kind, a state and an expiry. The browser
    holds only the id, in its session; everything else is here."""

    class Kind(models.TextChoices):
        SMS_SIGNIN = "sms_signin", _("sign-in by SMS code")
        ACTIVATION = "activation", _("activation from the register")
        RECOVERY = "recovery", _("account recovery")
        EMAIL_CHANGE = "email_change", _("e-mail change")
        PHONE_CHANGE = "phone_change", _("mobile number change")
        REGISTRATION = "registration", _("self-registration")
        AUTHORIZATION = "authorization", _("sign-in to an application")
        FEDERATED = "federated", _("sign-in through a national provider")

    class State(models.TextChoices):
        STARTED = "started", _("details given")
        CODE_SENT = "code_sent", _("code sent")
        LINK_SENT = "link_sent", _("link sent")
        PROVEN = "proven", _("contact proven")
        NEEDS_ANSWER = "needs_answer", _("security question pending")
        AWAITING_GUARDIAN = "awaiting_guardian", _("waiting for a parent's approval")
        APPROVED = "approved", _("approved by a parent")
        DONE = "done", _("done")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    state = models.CharField(max_length=32, choices=State.choices)
    # Empty when the identifier matched no account: the flow looks the same from outside.
    account = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    identifier_key = models.CharField(max_length=128)
    # What the person asked for, e.g. recovery of "login", "password" or "both".
    need = models.CharField(max_length=16, blank=True)
    # The new contact point waiting for its confirmation (e-mail or phone change).
    target = models.CharField(max_length=254, blank=True)
    # What a multi-step journey collected so far (self-registration: the identity and contacts typed,
    # which of them are proven). Emptied of personal data once it is no longer needed.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    class Meta:
        # Finding abandoned journeys whose typed personal data must be forgotten.
        indexes = [models.Index(fields=["kind", "state", "expires_at"], name="flow_kind_state_expiry")]


class OneTimeCode(models.Model):
    """A 6-digit code sent out of band: bound to one flow and one purpose, ≤ 10 minutes, single use.
    Only an HMAC of it is stored (a 6-digit code is too short for hashing alone to protect it)."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="codes")
    purpose = models.CharField(max_length=32)
    code_mac = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class LinkToken(models.Model):
    """A link sent by e-mail: ≥ 128 random bits, only its SHA-256 stored, single use, expiring
    (1 hour by default, never more than 24 hours)."""

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="links")
    purpose = models.CharField(max_length=32)
    digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
