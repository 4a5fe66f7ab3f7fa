from celery import shared_task

from schoolid.notify import services


@shared_task(name="schoolid.notify.deliver_message", ignore_result=True)
def deliver_message(message_id: str) -> str:
    return services.deliver(message_id)


@shared_task(name="schoolid.notify.deliver_due", ignore_result=True)
def deliver_due() -> dict:
    return services.deliver_due()
