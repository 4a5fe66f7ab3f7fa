"""The sync from the register as a job: periodic (Celery beat in production, see
settings.CELERY_BEAT_SCHEDULE) or started from the console's "Sync now"."""
import logging

from celery import shared_task

logger = logging.getLogger("schoolid.provisioning")


@shared_task(name="schoolid.provisioning.sync")
def sync_register(actor_id: int | None = None) -> dict:
    from schoolid.accounts.models import Account
    from schoolid.provisioning.oneroster.dataset import DatasetError
    from schoolid.provisioning.services import SyncAlreadyRunning, run_sync

    actor = Account.objects.filter(pk=actor_id).first() if actor_id else None
    try:
        result = run_sync(actor=actor)
    except (SyncAlreadyRunning, DatasetError) as exc:
        # Both are on record already (the lock holder's run, or the audited failure); a job has no one to tell.
        logger.warning("sync not run: %s", exc)
        return {"run": None, "error": str(exc)}
    return {"run": result.run.pk if result.run else None, "refused_rows": len(result.refused)}
