import ipaddress

from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from schoolid.notify.models import OutboxMessage


def _loopback(request) -> bool:
    """The client's own address (REMOTE_ADDR, never a header it could write) is a loopback one."""
    try:
        address = ipaddress.ip_address((request.META.get("REMOTE_ADDR") or "").split("%")[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


@never_cache
def dev_outbox(request):
    """Demo only: what would have been e-mailed or texted, so a newcomer can read a code. It shows every
    code and link, so it answers only in the embedded mode and only to a client on this machine,
    whatever address the server binds (issue 11, item 4); anyone else gets a 404."""
    if settings.PRODUCTION or not settings.SCHOOLID_DEV_OUTBOX or not _loopback(request):
        raise Http404
    return render(request, "notify/dev_outbox.html", {"messages_list": OutboxMessage.objects.all()[:50]})
