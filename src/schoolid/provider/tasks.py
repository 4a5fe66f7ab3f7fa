from celery import shared_task

from schoolid.provider import services


@shared_task(name="schoolid.provider.deliver_logout", ignore_result=True)
def deliver_logout(delivery_id: str) -> str:
    return services.deliver_logout(delivery_id)


@shared_task(name="schoolid.provider.deliver_due_logouts", ignore_result=True)
def deliver_due_logouts() -> dict:
    return services.deliver_due_logouts()
