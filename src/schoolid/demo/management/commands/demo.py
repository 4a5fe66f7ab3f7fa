import json
import os
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from rich.console import Console

from schoolid.demo.build import build_demo_country
from schoolid.directory.models import OrgUnit

IDENTIFIER_NAMES = {"national_id": "national ID", "user_code": "user code", "email": "e-mail", "mobile": "mobile"}
# `demo --code` takes the printed label or the role's own name.
CODE_ALIASES = {"cluster_supervisor": "supervisor", "district_officer": "officer", "ministry_admin": "operator", "class_teacher": "teacher"}
STAFF_LABELS = "principal, secretary, teacher, supervisor, officer or operator"


class Command(BaseCommand):
    help = "Build a fictitious demo country (about 3,000 students, 10 schools) and serve it."

    def add_arguments(self, parser):
        parser.add_argument("--country", default=None, help="ir, il, pl, bd or ru (default: SCHOOLID_PROFILE or ir)")
        parser.add_argument("--no-serve", action="store_true", help="build and print, but do not start the server")
        parser.add_argument("--students", type=int, default=3000)
        parser.add_argument("--seed", type=int, default=None, help="random seed for reproducible names and IDs")
        parser.add_argument("--reset", action="store_true", help="start again from an empty embedded database")
        parser.add_argument("--code", metavar="WHO", help=f"print the current authenticator code of a demo staff identity ({STAFF_LABELS}) and exit")
        parser.add_argument("--host", default=os.environ.get("SCHOOLID_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("SCHOOLID_PORT", "8000")))

    def handle(self, *args, **options):
        profile = settings.SCHOOLID_PROFILE
        if options["country"] and options["country"].lower() != profile.code:
            raise CommandError(f"--country {options['country']} differs from SCHOOLID_PROFILE={profile.code}; run it through the `schoolid` command")
        state_file = Path(settings.VAR_DIR) / "demo.json"
        if options["code"]:
            return self._print_code(state_file, options["code"])
        if options["reset"]:
            self._reset(state_file)
        call_command("migrate", interactive=False, verbosity=0)
        console = Console()
        if OrgUnit.objects.exists():
            state = json.loads(state_file.read_text()) if state_file.exists() else None
            if not state or state.get("country") != profile.country:
                raise CommandError(
                    "This database already holds another country or real data. Use `schoolid demo --reset` "
                    "(embedded SQLite only) or point DATABASE_URL at an empty database."
                )
            console.print(f"[bold]Reusing the {profile.name} demo already in this database.[/bold]")
        else:
            with console.status(f"Building the {profile.name} demo country…"):
                result = build_demo_country(profile, students=options["students"], seed=options["seed"])
            state = {
                "country": result.country,
                "counts": result.counts,
                "identities": [vars(i) for i in result.identities],
            }
            state_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(state_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(state, handle, ensure_ascii=False, indent=2)
        if profile.code == "pl":
            self._register_source(console)
        from schoolid.demo.views import register_demo_client

        client = register_demo_client([f"http://127.0.0.1:{options['port']}", f"http://localhost:{options['port']}"])
        self._print(console, profile, state, options)
        console.print(f"Single sign-on: a sample application at [bold]http://{options['host']}:{options['port']}/dev/app/[/bold] signs in with SchoolID "
                      f"(client id {client.client_id}; discovery at /.well-known/openid-configuration; more clients: schoolid oidc-client create).",
                      soft_wrap=True)
        self._national_signin(console, profile, state, options)
        if not options["no_serve"]:
            from schoolid.core.management.commands.serve import serve, use_served_address

            use_served_address(options["host"], options["port"])
            connection.close()
            serve(options["host"], options["port"], workers=int(os.environ.get("SCHOOLID_WORKERS", "2")), threads=4)

    def _national_signin(self, console: Console, profile, state: dict, options) -> None:
        """The stand-in national provider (issue 16), set up once and explained."""
        from schoolid.federation.services import configure_standin

        url = f"http://{options['host']}:{options['port']}"
        provider = configure_standin(url, profile.code)
        if provider is None:
            return
        someone = next((i for i in state["identities"] if i.get("national_id")), None)
        console.print(
            f"National sign-in: on {url}/signin/ press [bold]Sign in with {provider.label}[/bold] ({provider.get_kind_display()} stand-in at "
            f"{url}/dev/idp/), type a national ID from the register" + (f" (e.g. [cyan]{someone['national_id']}[/cyan])" if someone else "")
            + "; an active account confirms once with its password, a never-activated one is activated.",
            soft_wrap=True,
        )

    def _register_source(self, console: Console) -> None:
        """Poland syncs from the school register: the demo writes the register's next state and syncs from it."""
        from schoolid.demo.register import write_demo_register

        folder = write_demo_register(Path(settings.VAR_DIR))
        if not os.environ.get("SCHOOLID_SYNC_SOURCE"):
            # Worker processes find it themselves (settings.py: the Polish demo's register in var/).
            settings.SCHOOLID_SYNC_SOURCE = str(folder)
        console.print(f"Register source for [bold]Sync now[/bold] (console → Sync from the register): {settings.SCHOOLID_SYNC_SOURCE} "
                      "(a small OneRoster set; each demo start writes its next state).", soft_wrap=True)

    def _print_code(self, state_file: Path, who: str) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo codes exist only in the embedded demo")
        if not state_file.exists():
            raise CommandError("no demo here yet: run `schoolid demo` first")
        import pyotp

        who = CODE_ALIASES.get(who, who)
        for identity in json.loads(state_file.read_text())["identities"]:
            if identity["role"] == who and identity.get("totp_seed"):
                self.stdout.write(pyotp.TOTP(identity["totp_seed"]).now())
                return
        raise CommandError(f"no demo identity {who!r} with an authenticator (try {STAFF_LABELS})")

    def _reset(self, state_file: Path) -> None:
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("sqlite3"):
            raise CommandError("--reset only removes the embedded SQLite database; empty other databases yourself")
        connection.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db['NAME']}{suffix}").unlink(missing_ok=True)
        state_file.unlink(missing_ok=True)

    def _print(self, console: Console, profile, state: dict, options) -> None:
        counts = state["counts"]
        console.print(
            f"\n[bold green]SchoolID demo — {profile.name}[/bold green]: {counts.get('org_units', 0)} org units, "
            f"{counts.get('student', 0)} students, {counts.get('guardian', 0)} guardian roles, {counts.get('people', 0)} people."
        )
        url = f"http://{options['host']}:{options['port']}/"
        console.print(f"\nSign in at [bold]{url}signin/[/bold] as:", soft_wrap=True)
        for identity in state["identities"]:
            kind = IDENTIFIER_NAMES.get(identity["identifier_kind"], identity["identifier_kind"])
            # soft_wrap: identifiers and passwords are copied from here and must stay on one line.
            console.print(
                f"  [bold]{identity['role']:<10}[/bold] {identity['name']} — {kind} [cyan]{identity['identifier']}[/cyan], "
                f"password [cyan]{identity['password']}[/cyan] (user code {identity['user_code']})",
                soft_wrap=True,
            )
            if identity["role"] == "parent" and identity.get("mobile"):
                console.print(
                    f"  {'':<10} SMS sign-in ({url}signin/sms/) and recovery ({url}recover/): national ID "
                    f"[cyan]{identity['national_id']}[/cyan], mobile [cyan]{identity['mobile']}[/cyan] (the SMS appear at {url}dev/outbox)",
                    soft_wrap=True,
                )
        console.print(f"Operators: {url}admin/ (sign in as the operator). Passwords are random for this database and kept in {Path(settings.VAR_DIR) / 'demo.json'}.", soft_wrap=True)
        staff = [i for i in state["identities"] if i.get("totp_seed")]
        if staff:
            console.print(
                "Staff ({}) also need a code from an authenticator app: add the key below to one, or print the current code with "
                "[bold].venv/bin/schoolid demo --code ROLE[/bold] (ROLE: {}).".format(", ".join(i["role"] for i in staff), STAFF_LABELS),
                soft_wrap=True,
            )
            for identity in staff:
                console.print(f"  {identity['role']}: authenticator key {identity['totp_seed']}", soft_wrap=True)
        if not options["no_serve"]:
            console.print(f"Serving on [bold]{url}[/bold] — press Ctrl+C to stop.\n")
