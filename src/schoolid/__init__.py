"""SchoolID: identity and accounts for a national school portal."""
# Celery's app is loaded with Django, so @shared_task uses SchoolID's configuration.
from schoolid.celery import app as celery_app

__all__ = ["celery_app"]
