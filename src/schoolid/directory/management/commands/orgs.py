from django.core.management.base import BaseCommand

from schoolid.directory.models import OrgUnit
from schoolid.directory.selectors import org_units


class Command(BaseCommand):
    help = "List org units with their codes (tab-separated: code, kind, name, parent code)."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=OrgUnit.Kind.values)

    def handle(self, *args, **options):
        for unit in org_units(options["kind"]).select_related("parent").iterator():
            parent = unit.parent.code if unit.parent else "-"
            self.stdout.write(f"{unit.code}\t{unit.kind}\t{unit.name}\t{parent}")
