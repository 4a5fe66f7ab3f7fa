"""The `schoolid` command: Django's management commands with SchoolID's settings.

    schoolid demo [--country CC] [--no-serve]   build a demo country and serve it
    schoolid serve [--host H] [--port P]        serve an existing database
    schoolid id check --country CC VALUE        check a national ID
    schoolid orgs [--kind school|class|...]     list org units with their codes
    schoolid migrate                            create or update the database
    schoolid privacy export|retain|erase|report subject access, retention, erasure, records
"""
import os
import sys


def _country_from_argv(argv: list[str]) -> str | None:
    for i, arg in enumerate(argv):
        if arg == "--country" and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith("--country="):
            return arg.split("=", 1)[1]
    return None


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolid.settings")
    # `demo --country` picks the country profile before the settings are read.
    if len(argv) > 1 and argv[1] == "demo":
        country = _country_from_argv(argv[2:])
        if country:
            os.environ["SCHOOLID_PROFILE"] = country.lower()
    if len(argv) == 1:
        print(__doc__.strip())
        argv.append("help")
    from django.core.management import execute_from_command_line

    from schoolid.core.requestid import new_request_id, set_request_id

    # One request id per command, so its log lines and audit events can be traced together.
    set_request_id("cli-" + new_request_id())
    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
