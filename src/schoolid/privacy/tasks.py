"""Retention as a job: Celery beat in production (settings.CELERY_BEAT_SCHEDULE), the embedded
scheduler thread of `schoolid serve` otherwise (privacy/scheduler.py)."""
import logging

from celery import shared_task

logger = logging.getLogger("schoolid.privacy")


@shared_task(name="schoolid.privacy.retain", ignore_result=True)
def retain() -> dict:
    from schoolid.privacy.services import retain as run

    plan = run()
    counts = {step.category: step.done for step in plan.steps}
    logger.info("retention applied", extra={"counts": counts})
    return counts
