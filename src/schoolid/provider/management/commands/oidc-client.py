"""`schoolid oidc-client create NAME --redirect-uri URI [...]`, `list`, `rotate-secret NAME`, `disable NAME`."""
import json

from django.core.management.base import BaseCommand, CommandError

from schoolid.provider import services
from schoolid.provider.models import Client


class Command(BaseCommand):
    help = "Register and manage the applications that sign people in with SchoolID (OpenID Connect clients)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="register a client; its secret is printed once and only a hash is kept")
        create.add_argument("name")
        create.add_argument("--redirect-uri", action="append", required=True, dest="redirect_uris")
        create.add_argument("--post-logout-redirect-uri", action="append", default=[], dest="post_logout_uris")
        create.add_argument("--backchannel-logout-uri", default="")
        create.add_argument("--public", action="store_true", help="a public client (no secret; PKCE as for everyone)")
        create.add_argument("--first-party", action="store_true", help="a ministry system: no consent screen, may use public subjects")
        create.add_argument("--subject", choices=["public", "pairwise"], default="pairwise")
        create.add_argument("--sector", default="", help="clients of one vendor share a sector (default: the redirect URI's host)")
        create.add_argument("--org", action="append", default=[], dest="orgs", help="org unit code: only people with a role inside it")
        create.add_argument("--trusted", action="store_true", help="may ask for the national_id scope")
        create.add_argument("--offline-access", action="store_true", help="may ask for offline_access (refresh tokens)")
        create.add_argument("--json", action="store_true")
        sub.add_parser("list", help="list clients (never their secrets)")
        for name in ("rotate-secret", "disable"):
            sub.add_parser(name).add_argument("name")

    def handle(self, *args, **o):
        try:
            if o["action"] == "create":
                client, secret = services.create_client(
                    o["name"], redirect_uris=o["redirect_uris"], post_logout_redirect_uris=o["post_logout_uris"],
                    backchannel_logout_uri=o["backchannel_logout_uri"], public=o["public"], first_party=o["first_party"],
                    subject=o["subject"], sector=o["sector"], org_codes=o["orgs"], trusted=o["trusted"], offline_access=o["offline_access"])
                self._print(client, secret, o["json"])
            elif o["action"] == "rotate-secret":
                client, secret = services.rotate_secret(o["name"])
                self._print(client, secret, False)
            elif o["action"] == "disable":
                client = services.disable_client(o["name"])
                self.stdout.write(f"{client.name} is disabled; its tokens are revoked.")
            else:
                for c in Client.objects.order_by("name"):
                    state = "disabled" if c.disabled_at else "active"
                    kind = "first-party" if c.first_party else "third-party"
                    self.stdout.write(f"{c.name}\t{c.client_id}\t{kind}\t{c.subject_type}\t{c.sector}\t{state}")
        except services.ClientError as exc:
            raise CommandError(str(exc)) from exc

    def _print(self, client, secret, as_json):
        if as_json:
            self.stdout.write(json.dumps({"issuer": services.issuer(), "client_id": client.client_id, "client_secret": secret or None}))
            return
        self.stdout.write(f"issuer: {services.issuer()}")
        self.stdout.write(f"client_id: {client.client_id}")
        if secret:
            self.stdout.write(f"client_secret (shown only now): {secret}")
