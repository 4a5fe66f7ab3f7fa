from django.core.management.base import BaseCommand

from schoolid.provisioning.management.commands._runner import run_with_progress
from schoolid.provisioning.services import import_oneroster


class Command(BaseCommand):
    help = "Import from the school register: `schoolid import oneroster PATH [--dry-run] [--report FILE]`."

    def add_arguments(self, parser):
        parser.add_argument("format", choices=["oneroster"], help="the data set's format")
        parser.add_argument("path", help="a folder or zip file with manifest.csv and the OneRoster CSV files")
        parser.add_argument("--dry-run", action="store_true", help="show what would change and write nothing")
        parser.add_argument("--report", help="write the refused rows here, as FILE.csv and FILE.json")

    def handle(self, *args, **options):
        run_with_progress(
            lambda progress: import_oneroster(options["path"], dry_run=options["dry_run"], report=options["report"], progress=progress),
            dry_run=options["dry_run"],
        )
