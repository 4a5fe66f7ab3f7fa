"""`schoolid scim-token create NAME [--org CODE]`, `list`, `revoke NAME`: bearer tokens for SCIM clients."""
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from schoolid.provisioning.models import ScimToken
from schoolid.provisioning.scim.services import TokenError, create_token, revoke_token


class Command(BaseCommand):
    help = "Make, list and revoke the bearer tokens of SCIM clients (/scim/v2/)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="make a token; it is printed once and only its hash is kept")
        create.add_argument("name")
        create.add_argument("--org", help="org unit code: the client sees and writes only inside this unit (default: the whole country)")
        sub.add_parser("list", help="list tokens (never their values)")
        revoke = sub.add_parser("revoke", help="revoke a token at once")
        revoke.add_argument("name")

    def handle(self, *args, **options):
        action = options["action"]
        try:
            if action == "create":
                token, raw = create_token(options["name"], options.get("org"))
                scope = token.org_unit.code if token.org_unit_id else _("the whole country")
                self.stdout.write(_("SCIM token %(name)s for %(scope)s. It is shown only now; keep it in the client's secret store:")
                                  % {"name": token.name, "scope": scope})
                self.stdout.write(raw)
            elif action == "revoke":
                token = revoke_token(options["name"])
                self.stdout.write(_("SCIM token %(name)s is revoked.") % {"name": token.name})
            else:
                self._list()
        except TokenError as exc:
            raise CommandError(str(exc)) from exc

    def _list(self):
        never = _("never")
        for token in ScimToken.objects.select_related("org_unit").order_by("name"):
            scope = token.org_unit.code if token.org_unit_id else "*"
            last = token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else never
            state = _("revoked") if token.revoked_at else _("active")
            self.stdout.write(f"{token.name}\t{token.prefix}…\t{scope}\t{last}\t{state}")
