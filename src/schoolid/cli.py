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


def _demo_country() -> str | None:
    """The country of the demo kept in var/demo.json, if there is one."""
    import json
    from pathlib import Path

    var_dir = Path(os.environ.get("SCHOOLID_VAR_DIR") or "var")
    try:
        country = json.loads((var_dir / "demo.json").read_text(encoding="utf-8")).get("country", "")
    except (OSError, ValueError, AttributeError):
        return None
    return country.lower() if isinstance(country, str) and country.isalpha() and len(country) == 2 else None


def _metrics_directory() -> None:
    """Server processes share their Prometheus counters through files (core/metrics.py). The variable
    must be set before prometheus-client is first imported, and the files of a previous run removed."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from pathlib import Path

    directory = Path(os.environ.get("SCHOOLID_VAR_DIR") or Path.cwd() / "var").resolve() / "metrics"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "schoolid.settings")
    # `demo --country` picks the country profile before the settings are read.
    if len(argv) > 1 and argv[1] == "demo":
        country = _country_from_argv(argv[2:])
        if country:
            os.environ["SCHOOLID_PROFILE"] = country.lower()
    if "SCHOOLID_PROFILE" not in os.environ and os.environ.get("SCHOOLID_MODE", "embedded") != "production":
        # Every command (serve, issue, outbox, demo without --country…) works on the country of the
        # demo kept in this var/, not the `ir` default.
        country = _demo_country()
        if country:
            os.environ["SCHOOLID_PROFILE"] = country
    if len(argv) > 1 and argv[1] in ("serve", "demo"):
        _metrics_directory()
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
