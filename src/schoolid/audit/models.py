from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnlyError(RuntimeError):
    """Raised on any attempt to change or remove an audit event."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnlyError("audit events are append-only")

    def delete(self):
        raise AppendOnlyError("audit events are append-only")

    def bulk_update(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")


class AuditEvent(models.Model):
    """Who did what to whom, when, from where, with what result. Never updated, never deleted.

    The database refuses UPDATE and DELETE too (triggers in migration 0002), so no code path can.
    """

    class Result(models.TextChoices):
        SUCCESS = "success", _("success")
        FAILURE = "failure", _("failure")
        DENIED = "denied", _("denied")

    at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    action = models.CharField(_("action"), max_length=64, db_index=True)
    result = models.CharField(_("result"), max_length=8, choices=Result.choices)
    # Actor and target are kept as plain values as well as ids, so the record outlives any change.
    actor_id = models.BigIntegerField(_("actor id"), null=True, blank=True, db_index=True)
    actor = models.CharField(_("actor"), max_length=64, blank=True)
    target_id = models.BigIntegerField(_("target id"), null=True, blank=True, db_index=True)
    target = models.CharField(_("target"), max_length=64, blank=True)
    org_unit_path = models.CharField(_("org unit"), max_length=255, blank=True, db_index=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True, db_index=True)
    parent_id = models.BigIntegerField(_("parent event"), null=True, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        ordering = ["-id"]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.action} {self.result} {self.actor} -> {self.target}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise AppendOnlyError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError("audit events are append-only")


class AuditMaintenance(models.Model):
    """A marker row that exists only inside the transaction of an audit owner verb (retention or the
    pseudonymisation of an erased person). The append-only triggers let rows change only while one is
    visible, and only in the columns that may carry personal data (migration 0003)."""

    reason = models.CharField(max_length=32)
    started_at = models.DateTimeField(auto_now_add=True)
