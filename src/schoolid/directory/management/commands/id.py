import sys

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from schoolid.directory.national_ids import InvalidNationalId, scheme_for_country


class Command(BaseCommand):
    help = "National ID tools. `id check --country CC VALUE` prints the normalised ID, or the reason it is wrong (exit 1)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        check = sub.add_parser("check", help="Check and normalise a national ID")
        check.add_argument("--country", required=True, help="ir, il, pl, bd or ru")
        check.add_argument("--language", default=None, help="language of the reason (default: the active one)")
        check.add_argument("value")

    def handle(self, *args, **options):
        try:
            scheme = scheme_for_country(options["country"])
        except (KeyError, ValueError) as exc:
            raise CommandError(f"unknown country {options['country']!r}: use ir, il, pl, bd or ru") from exc
        with translation.override(options["language"] or translation.get_language()):
            try:
                value = scheme.normalize(options["value"])
            except InvalidNationalId as exc:
                self.stdout.write(f"{scheme.label}: {exc.message} ({exc.reason})")
                sys.exit(1)
            self.stdout.write(value)
