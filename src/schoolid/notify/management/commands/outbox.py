from django.core.management.base import BaseCommand

from schoolid.notify.models import OutboxMessage
from schoolid.notify.services import deliver_due


class Command(BaseCommand):
    help = "List outbox messages and their state; --deliver sends every message that is due."

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=OutboxMessage.Status.values)
        parser.add_argument("--limit", type=int, default=50)
        parser.add_argument("--deliver", action="store_true")

    def handle(self, *args, **options):
        if options["deliver"]:
            counts = deliver_due()
            self.stdout.write("delivered: " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "nothing due"))
        qs = OutboxMessage.objects.all()
        if options["status"]:
            qs = qs.filter(status=options["status"])
        for m in qs[: options["limit"]]:
            error = f"\t{m.last_error}" if m.last_error else ""
            self.stdout.write(f"{m.created_at:%Y-%m-%d %H:%M:%S}\t{m.channel}\t{m.to}\t{m.purpose}\t{m.status}\t{m.attempts}{error}")
