"""The periodic sync from the register (Celery beat in production; see settings.CELERY_BEAT_SCHEDULE)."""
from celery import shared_task


@shared_task(name="schoolid.provisioning.sync")
def sync_register() -> dict:
    from schoolid.provisioning.services import run_sync

    result = run_sync()
    return {"run": result.run.pk if result.run else None, "refused_rows": len(result.problems)}
