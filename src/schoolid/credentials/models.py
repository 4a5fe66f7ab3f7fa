import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class IssuanceBatch(models.Model):
    """One issuing action by staff (a group issue or an individual reset). Secrets are never stored
    here; only their hashes live on IssuedSecret."""

    class Kind(models.TextChoices):
        GROUP = "group", _("group issue")
        INDIVIDUAL = "individual", _("individual reset")
        PARENT = "parent", _("reset by a parent")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("issued by"), on_delete=models.PROTECT, related_name="+")
    # A double submit of the same form carries the same key and finds this batch instead of issuing twice.
    idempotency_key = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("issued"), auto_now_add=True)
    count = models.PositiveIntegerField(_("accounts"), default=0)
    description = models.CharField(_("description"), max_length=255, blank=True)
    audit_event_id = models.BigIntegerField(null=True, blank=True)

    class Meta:
        verbose_name = _("issuance")
        verbose_name_plural = _("issuances")


class IssuedSecret(models.Model):
    """A generated one-time secret: CSPRNG, ≥ 60 bits, single purpose, expiring (ASVS v5 6.4.1)."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="issued_secrets")
    batch = models.ForeignKey(IssuanceBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="secrets")
    secret_hash = models.CharField(max_length=128)
    # The QR sign-in link: only the SHA-256 of its 256-bit token is kept.
    link_digest = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    link_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    forces_change = models.BooleanField(default=True)

    class Meta:
        indexes = [models.Index(fields=["account"], condition=Q(used_at__isnull=True, revoked_at__isnull=True), name="issuedsecret_open")]


class TotpDevice(models.Model):
    """A TOTP authenticator (RFC 6238) bound to an account. The seed is encrypted at rest."""

    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="totp")
    encrypted_seed = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The last accepted time step: a code is never accepted twice (RFC 6238 §5.2).
    last_step = models.BigIntegerField(default=0)


class RecoveryCode(models.Model):
    """Ten single-use codes, shown once at enrolment, stored hashed."""

    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="recovery_codes")
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)
