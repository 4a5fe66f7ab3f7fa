"""The OpenID Provider's rows: signing keys, clients (relying parties), codes, tokens, consents, the
sessions clients used (for logout) and back-channel logout deliveries (an outbox)."""
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def new_client_id() -> str:
    return secrets.token_urlsafe(18)


class SigningKey(models.Model):
    """An RS256 key. The private half is sealed with the field key (as TOTP seeds are). A retired key
    stays in the JWKS until `publish_until`, when every token it signed has expired."""

    kid = models.CharField(max_length=64, unique=True)
    private_sealed = models.TextField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)
    publish_until = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.kid


class Client(models.Model):
    class Subject(models.TextChoices):
        PAIRWISE = "pairwise", _("pairwise (per sector)")
        PUBLIC = "public", _("public (ministry systems only)")

    name = models.CharField(_("name"), max_length=100, unique=True)
    client_id = models.CharField(_("client id"), max_length=64, unique=True, editable=False, default=new_client_id)
    # SHA-256 of a 256-bit random secret (a slow hash adds nothing to a secret this long); empty: public client.
    secret_hash = models.CharField(max_length=64, blank=True, editable=False)
    public = models.BooleanField(_("public client (no secret)"), default=False)
    first_party = models.BooleanField(_("ministry system (first party: no consent screen, public subject allowed)"), default=False)
    subject_type = models.CharField(_("subject type"), max_length=8, choices=Subject.choices, default=Subject.PAIRWISE)
    sector = models.CharField(_("sector"), max_length=200, help_text=_("Clients of one vendor share a sector and see the same pairwise subject."))
    trusted = models.BooleanField(_("trusted: may ask for the national ID"), default=False)
    offline_access = models.BooleanField(_("may ask for offline access (refresh tokens)"), default=False)
    redirect_uris = models.JSONField(_("redirect URIs"), default=list)
    post_logout_redirect_uris = models.JSONField(_("post-logout redirect URIs"), default=list, blank=True)
    backchannel_logout_uri = models.CharField(_("back-channel logout URI"), max_length=500, blank=True)
    org_units = models.ManyToManyField("directory.OrgUnit", verbose_name=_("limited to org units"), blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    disabled_at = models.DateTimeField(_("disabled"), null=True, blank=True)

    class Meta:
        verbose_name = _("application (OpenID client)")
        verbose_name_plural = _("applications (OpenID clients)")

    def __str__(self):
        return self.name


class ProviderSession(models.Model):
    """A browser session that signed in to clients: its `sid` goes into ID and logout tokens."""

    sid = models.CharField(max_length=64, unique=True)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    epoch = models.CharField(max_length=32)
    clients = models.ManyToManyField(Client, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account"], condition=Q(ended_at__isnull=True), name="provider_session_open")]


class AuthorizationCode(models.Model):
    digest = models.CharField(max_length=64, unique=True)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    redirect_uri = models.CharField(max_length=500)
    scope = models.CharField(max_length=300)
    nonce = models.CharField(max_length=300, blank=True)
    code_challenge = models.CharField(max_length=128)
    sid = models.CharField(max_length=64, blank=True)
    auth_time = models.IntegerField()
    amr = models.JSONField(default=list)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)


class Token(models.Model):
    class Kind(models.TextChoices):
        ACCESS = "access", _("access token")
        REFRESH = "refresh", _("refresh token")

    digest = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(max_length=300)
    # Everything one code produced, through every refresh: reuse of a spent token revokes it all.
    family = models.UUIDField(default=uuid.uuid4, db_index=True)
    family_expires_at = models.DateTimeField()
    sid = models.CharField(max_length=64, blank=True)
    auth_time = models.IntegerField(default=0)
    amr = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)  # a refresh token that was exchanged
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "client"], name="token_account_client")]


class Consent(models.Model):
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=300)
    # A guardian who approved for a pupil under the age threshold.
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "client"], name="consent_account_client")]


class LogoutDelivery(models.Model):
    """A back-channel logout token waiting for a client: the outbox pattern (retried, never lost)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        SENDING = "sending", _("sending")
        SENT = "sent", _("sent")
        DEAD = "dead", _("failed for good")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    sid = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "sid"], name="logout_once_per_client_sid")]
