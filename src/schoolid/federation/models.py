"""Providers as data, and the one thing kept about a person's provider account: the link.

No copy of the provider's person data is stored (issue 16, Keycloak #11334): names, birth date and
national ID are matched against the register during the callback and then dropped."""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class IdentityProvider(models.Model):
    class Kind(models.TextChoices):
        OIDC = "oidc", _("OpenID Connect")
        ESIA = "esia", _("ESIA (Gosuslugi)")

    name = models.SlugField(_("name"), max_length=40, unique=True)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    issuer = models.URLField(_("issuer"), max_length=300)
    client_id = models.CharField(_("client ID"), max_length=200)
    # Fernet under SCHOOLID_FIELD_KEY, like the TOTP seeds; never shown back.
    encrypted_client_secret = models.TextField(blank=True, editable=False)
    scopes = models.CharField(_("scopes"), max_length=300, default="openid profile")
    national_id_claim = models.CharField(_("national ID claim"), max_length=100, blank=True)
    label = models.CharField(_("label"), max_length=100)
    enabled = models.BooleanField(_("enabled"), default=True)
    country = models.CharField(_("country"), max_length=8, blank=True, help_text=_("Shown only under this country profile (empty: every profile)."))
    # ESIA: no discovery document, so its endpoints and signing certificate are configured.
    authorization_endpoint = models.URLField(max_length=300, blank=True)
    token_endpoint = models.URLField(max_length=300, blank=True)
    person_endpoint = models.URLField(max_length=300, blank=True, help_text="…/rs/prns/{oid}")
    logout_endpoint = models.URLField(max_length=300, blank=True)
    provider_certificate = models.TextField(_("provider certificate (PEM)"), blank=True)
    # The signer plug-in for ESIA's client_secret: "pkcs7:<key path>:<cert path>" or "command:<argv…>".
    signer = models.CharField(_("signer"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("identity provider")
        verbose_name_plural = _("identity providers")

    def __str__(self):
        return self.name


class FederatedLink(models.Model):
    """A person's provider account, linked on (provider = issuer, subject), never on e-mail or name
    (OIDC §2, §5.7; ASVS v5 6.8.1)."""

    provider = models.ForeignKey(IdentityProvider, verbose_name=_("provider"), on_delete=models.PROTECT, related_name="links")
    subject = models.CharField(_("subject at the provider"), max_length=255)
    account = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("account"), on_delete=models.CASCADE, related_name="federated_links")
    created_at = models.DateTimeField(_("linked"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("linked provider account")
        verbose_name_plural = _("linked provider accounts")
        constraints = [
            models.UniqueConstraint(fields=["provider", "subject"], name="fedlink_provider_subject"),
            models.UniqueConstraint(fields=["provider", "account"], name="fedlink_provider_account"),
        ]
