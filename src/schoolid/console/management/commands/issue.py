import os
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from rich.console import Console

from schoolid.accounts.models import Account, Role, RoleAssignment
from schoolid.accounts.user_codes import normalize_user_code
from schoolid.credentials import exports
from schoolid.credentials.services import IssuanceRefused, issue_secrets, new_idempotency_key
from schoolid.directory.models import OrgUnit

ROLE_GROUPS = {"student": [Role.STUDENT], "teacher": [Role.TEACHER, Role.CLASS_TEACHER]}


class Command(BaseCommand):
    help = (
        "Issue one-time passwords for a school or a class, with slips (PDF) and a list (CSV). Runs as the "
        "operator account named by --actor (or SCHOOLID_ACTOR), under the same scope rule as the console."
    )

    def add_arguments(self, parser):
        parser.add_argument("--school", required=True, help="school code (see `schoolid orgs --kind school`)")
        parser.add_argument("--class", dest="class_name", help="class name or code within the school")
        parser.add_argument("--role", choices=sorted(ROLE_GROUPS), required=True)
        parser.add_argument("--pdf", type=Path, help="write the slips here")
        parser.add_argument("--csv", type=Path, help="write the list here")
        parser.add_argument("--actor", default=os.environ.get("SCHOOLID_ACTOR", ""), help="user code of the staff or operator account acting")

    def handle(self, *args, **options):
        console = Console(stderr=True)
        if not options["pdf"] and not options["csv"]:
            raise CommandError("name --pdf and/or --csv: the one-time passwords are shown nowhere else")
        code = normalize_user_code(options["actor"] or "")
        actor = Account.objects.filter(user_code=code).first() if code else None
        if actor is None or not actor.is_active:
            raise CommandError("name the acting account with --actor USER_CODE (or SCHOOLID_ACTOR); it must be active")
        school = OrgUnit.objects.filter(kind=OrgUnit.Kind.SCHOOL, code=options["school"]).first()
        if school is None:
            raise CommandError(f"no school with code {options['school']!r}")
        units = OrgUnit.objects.filter(path__startswith=school.path)
        if options["class_name"]:
            units = units.filter(kind=OrgUnit.Kind.CLASS).filter(name=options["class_name"]) | units.filter(kind=OrgUnit.Kind.CLASS, code=options["class_name"])
            if not units.exists():
                raise CommandError(f"no class {options['class_name']!r} in {school.code}")
        account_ids = RoleAssignment.objects.current().filter(org_unit__in=units, role__in=ROLE_GROUPS[options["role"]]).values("account_id")
        targets = list(Account.objects.select_related("person").filter(pk__in=account_ids).exclude(status=Account.Status.DISABLED).order_by("person__family_name", "person__given_name"))
        if not targets:
            raise CommandError("nobody matches")
        try:
            with console.status(f"Issuing {len(targets)} one-time passwords…"):
                result = issue_secrets(actor, targets, idempotency_key=new_idempotency_key(), description=f"cli {school.code} {options['class_name'] or ''} {options['role']}")
                if options["pdf"]:
                    options["pdf"].write_bytes(exports.slips_pdf(result.items, settings.SCHOOLID_PROFILE, title=school.name))
                if options["csv"]:
                    fd = os.open(options["csv"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(exports.items_csv(result.items))
        except IssuanceRefused as refused:
            console.print(f"[red]Nothing was issued:[/red] {len(refused.refused)} accounts are outside the scope of {actor.display_code} ({refused.decision.reason}).")
            sys.exit(1)
        written = ", ".join(str(p) for p in (options["pdf"], options["csv"]) if p)
        console.print(f"Issued {result.batch.count} one-time passwords (batch {result.batch.pk}); written to {written}.")
