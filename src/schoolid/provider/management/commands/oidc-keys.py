"""`schoolid oidc-keys rotate` and `list`: the ID token signing keys."""
from django.core.management.base import BaseCommand

from schoolid.audit.services import record_event
from schoolid.provider import keys, services
from schoolid.provider.models import SigningKey


class Command(BaseCommand):
    help = "Rotate or list the provider's signing keys. A retired key stays published until its tokens expired."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("rotate")
        sub.add_parser("list")

    def handle(self, *args, **o):
        if o["action"] == "rotate":
            new, old = keys.rotate(max(services.ID_TOKEN_SECONDS, services.LOGOUT_TOKEN_SECONDS))
            record_event("oidc.keys.rotated", "success", actor="cli", detail={"kid": new.kid, "retired": [k.kid for k in old]})
            self.stdout.write(f"new signing key {new.kid}; retired: {', '.join(k.kid for k in old) or '-'}")
            return
        for k in SigningKey.objects.order_by("-created_at"):
            state = "active" if not k.retired_at else f"retired, published until {k.publish_until.isoformat(timespec='seconds')}"
            self.stdout.write(f"{k.kid}\t{k.created_at.isoformat(timespec='seconds')}\t{state}")
