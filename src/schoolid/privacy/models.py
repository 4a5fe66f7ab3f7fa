from django.db import models
from django.utils.translation import gettext_lazy as _


class ErasureRecord(models.Model):
    """That a person was erased, when, by whom and why, and the keyed hash of their national ID that
    recognises them if they come back. Nothing else about them."""

    class Reason(models.TextChoices):
        OPERATOR = "operator", _("erased by an operator")
        RETENTION = "retention", _("retention period ended")

    person_id = models.BigIntegerField(_("person id"), unique=True)
    # The account keeps its user code for ever (never reused); recorded so the returning person's old
    # history can be found.
    user_code = models.CharField(_("user code"), max_length=16, blank=True)
    national_id_token = models.CharField(_("national ID (keyed hash)"), max_length=32, db_index=True)
    pseudonym = models.CharField(_("pseudonym in the audit log"), max_length=32)
    reason = models.CharField(_("reason"), max_length=16, choices=Reason.choices)
    erased_by = models.CharField(_("erased by"), max_length=64, blank=True)
    erased_at = models.DateTimeField(_("erased"), auto_now_add=True, db_index=True)
    returned_person_id = models.BigIntegerField(_("returned as person id"), null=True, blank=True)
    returned_at = models.DateTimeField(_("returned"), null=True, blank=True)

    class Meta:
        verbose_name = _("erasure")
        verbose_name_plural = _("erasures")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.pseudonym} ({self.erased_at:%Y-%m-%d})"
