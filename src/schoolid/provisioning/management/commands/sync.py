from django.core.management.base import BaseCommand, CommandError

from schoolid.provisioning.management.commands._runner import run_with_progress
from schoolid.provisioning.services import SyncNotConfigured, run_sync


class Command(BaseCommand):
    help = "Import the configured register source (SCHOOLID_SYNC_SOURCE) now."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="show what would change and write nothing")

    def handle(self, *args, **options):
        try:
            run_with_progress(lambda progress: run_sync(dry_run=options["dry_run"], progress=progress), dry_run=options["dry_run"])
        except SyncNotConfigured as exc:
            raise CommandError(str(exc)) from exc
