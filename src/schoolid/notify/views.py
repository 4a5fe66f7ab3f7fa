from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from schoolid.notify.models import OutboxMessage


@never_cache
def dev_outbox(request):
    """Demo only: what would have been e-mailed or texted, so a newcomer can read a code."""
    if settings.PRODUCTION or not settings.SCHOOLID_DEV_OUTBOX:
        raise Http404
    return render(request, "notify/dev_outbox.html", {"messages_list": OutboxMessage.objects.all()[:50]})
