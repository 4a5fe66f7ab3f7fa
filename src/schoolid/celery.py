"""Celery for background jobs. In the embedded default jobs run in-process (eager); in production
run `celery -A schoolid worker` and `celery -A schoolid beat` against Redis."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolid.settings")
app = Celery("schoolid")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["schoolid.notify", "schoolid.provisioning", "schoolid.privacy"])
