import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from schoolid.federation import selectors, services
from schoolid.federation.models import IdentityProvider


class Command(BaseCommand):
    help = "National sign-in providers: add, list, disable, enable."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        add = sub.add_parser("add", help="add a provider and print the redirect URI to register there")
        add.add_argument("name")
        add.add_argument("--kind", choices=IdentityProvider.Kind.values, required=True)
        add.add_argument("--issuer", required=True)
        add.add_argument("--client-id", required=True)
        add.add_argument("--client-secret", default="")
        add.add_argument("--scopes", default="")
        add.add_argument("--national-id-claim", default="")
        add.add_argument("--label", default="")
        add.add_argument("--country", default="")
        add.add_argument("--signer", default="", help='ESIA: "pkcs7:KEY.pem:CERT.pem" or "command:ARGV…"')
        add.add_argument("--provider-certificate", default="", help="ESIA: PEM file of the provider's signing certificate")
        add.add_argument("--json", action="store_true")
        sub.add_parser("list")
        for verb in ("disable", "enable"):
            sub.add_parser(verb).add_argument("name")

    def handle(self, *args, **o):
        if o["action"] == "add":
            cert = ""
            if o["provider_certificate"]:
                try:
                    with open(o["provider_certificate"], encoding="ascii") as f:
                        cert = f.read()
                except OSError as exc:
                    raise CommandError(f"cannot read {o['provider_certificate']}: {exc}") from exc
            if selectors.providers().filter(name=o["name"]).exists():
                raise CommandError(f"a provider named {o['name']!r} exists")
            try:
                provider = services.add_provider(name=o["name"], kind=o["kind"], issuer=o["issuer"], client_id=o["client_id"],
                                                 client_secret=o["client_secret"], scopes=o["scopes"], national_id_claim=o["national_id_claim"],
                                                 label=o["label"], country=o["country"], signer=o["signer"], provider_certificate=cert)
            except (ValidationError, ValueError) as exc:
                raise CommandError(str(exc)) from exc
            uri = services.redirect_uri(provider)
            if o["json"]:
                self.stdout.write(json.dumps({"name": provider.name, "redirect_uri": uri}))
            else:
                self.stdout.write(f"Added {provider.name}. Register this redirect URI at the provider:\n{uri}")
            return
        if o["action"] == "list":
            for p in selectors.providers():
                self.stdout.write(f"{p.name}\t{p.kind}\t{'enabled' if p.enabled else 'disabled'}\t{p.issuer}\t{p.label}")
            return
        provider = selectors.providers().filter(name=o["name"]).first()
        if provider is None:
            raise CommandError(f"no provider named {o['name']!r}")
        services.set_enabled(provider, o["action"] == "enable")
        self.stdout.write(f"{provider.name} {o['action']}d")
