"""Profiles, digits, health, OpenAPI, languages and the CLI."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st

from schoolid.core.digits import ascii_digits, native_digits, only_digits
from schoolid.core.profiles import PROFILE_CODES, load_profile

LANGS = ["fa", "he", "pl", "bn", "ru", "en"]


@pytest.mark.parametrize("code", PROFILE_CODES)
def test_profiles_load_with_secure_defaults(code):
    profile = load_profile(code)
    assert profile.code == code
    assert profile.default_language in LANGS
    assert profile.login_identifiers and profile.credential_issuers and profile.recovery_methods
    # Legacy behaviour of the source systems is off by default (security requirements C1, C2).
    assert profile.legacy_security_questions is False
    assert profile.password_policy.legacy_composition is False
    assert profile.password_policy.min_length_single_factor >= 15
    assert profile.password_policy.max_length >= 64
    # Staff always need a second factor (ASVS v5 6.3.3).
    assert {"principal", "district_officer", "ministry_admin"} <= set(profile.mfa_required_roles)
    assert "guardian" not in profile.mfa_required_roles


def test_profile_values_follow_the_source_systems():
    assert load_profile("ir").credential_issuers == ("principal",) and load_profile("ir").recovery_methods == ("principal_reset",)
    assert load_profile("ir").login_identifiers[0] == "national_id"
    assert "user_code" in load_profile("il").login_identifiers and load_profile("il").sms_sign_in_roles == ("guardian",)
    assert load_profile("pl").national_id_scheme == "pl_pesel" and load_profile("pl").login_identifiers[0] == "email"
    assert "supervisor_reset" in load_profile("bd").recovery_methods
    assert load_profile("ru").age_threshold == 14 and load_profile("ru").national_id_scheme == "ru_snils"


def test_unknown_profile_is_refused():
    with pytest.raises(ValueError):
        load_profile("xx")


@given(st.integers(min_value=0, max_value=10**12))
def test_native_digits_round_trip(number):
    text = str(number)
    for lang in ("fa", "bn"):
        shown = native_digits(text, lang)
        assert ascii_digits(shown) == text
    assert ascii_digits("٠١٢٣٤٥٦٧٨٩") == "0123456789"
    assert only_digits("۱۲-۳۴ ৫৬") == "123456"


@pytest.mark.django_db
def test_health_reports_database_and_cache(client, settings):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["cache"]["ok"]
    assert body["database"]["backend"] in ("postgresql", "sqlite")
    if os.environ.get("SCHOOLID_REQUIRE_SERVICES") == "1":
        assert body["database"]["backend"] == "postgresql" and "Redis" in body["cache"]["backend"]


@pytest.mark.django_db
def test_openapi_document(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"].startswith("3.") and "/api/v1/health" in doc["paths"]
    # No password hints or security questions anywhere in the API (NIST §3.1.1.2(7, 8); ASVS v5 6.4.2).
    text = json.dumps(doc).lower()
    assert "hint" not in text and "security_question" not in text


@pytest.mark.django_db
@pytest.mark.parametrize("lang,direction,heading", [
    ("fa", "rtl", "ورود"), ("he", "rtl", "כניסה"), ("pl", "ltr", "Zaloguj się"),
    ("bn", "ltr", "সাইন ইন"), ("ru", "ltr", "Вход"), ("en", "ltr", "Sign in"),
])
def test_signin_page_speaks_every_language(client, lang, direction, heading):
    html = client.get("/signin/", HTTP_ACCEPT_LANGUAGE=lang).content.decode()
    assert f'<html lang="{lang}" dir="{direction}">' in html
    assert f"<h1>{heading}</h1>" in html


@pytest.mark.django_db
def test_language_switcher_sets_the_language(client):
    response = client.post("/i18n/setlang/", {"language": "he", "next": "/signin/"})
    assert response.status_code == 302
    assert 'dir="rtl"' in client.get("/signin/").content.decode()


def test_translation_catalogues_are_complete():
    """Every msgid is translated in every language, and the compiled catalogue is up to date."""
    locale = Path(__file__).resolve().parents[2] / "src" / "schoolid" / "locale"
    from tests.core import polib_free

    for lang in ["fa", "he", "pl", "bn", "ru"]:
        po = locale / lang / "LC_MESSAGES" / "django.po"
        mo = po.with_suffix(".mo")
        assert po.exists() and mo.exists(), lang
        untranslated, fuzzy = polib_free.check(po)
        assert not untranslated, f"{lang}: untranslated {untranslated[:5]}"
        assert not fuzzy, f"{lang}: fuzzy {fuzzy[:5]}"
        assert mo.stat().st_mtime >= po.stat().st_mtime - 1, f"{lang}: compiled catalogue older than .po"


@pytest.mark.django_db
def test_cli_id_check_in_process(capsys):
    call_command("id", "check", "--country", "pl", "440514 01359")
    assert capsys.readouterr().out.strip() == "44051401359"
    with pytest.raises(SystemExit) as exc:
        call_command("id", "check", "--country", "pl", "--language", "en", "44051401358")
    assert exc.value.code == 1
    assert "check" in capsys.readouterr().out.lower()


def test_cli_id_check_exit_codes():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "schoolid.settings"}
    env.pop("DATABASE_URL", None)
    ok = subprocess.run([sys.executable, "-m", "schoolid.cli", "id", "check", "--country", "ir", "۰۴۹۹۳۷۰۸۹۹"], capture_output=True, text=True, env=env)
    assert ok.returncode == 0 and ok.stdout.strip() == "0499370899"
    bad = subprocess.run([sys.executable, "-m", "schoolid.cli", "id", "check", "--country", "ir", "--language", "en", "049937089"], capture_output=True, text=True, env=env)
    assert bad.returncode == 1 and bad.stdout.strip()
    ru = subprocess.run([sys.executable, "-m", "schoolid.cli", "id", "check", "--country", "ru", "--language", "ru", "112-233-445 96"], capture_output=True, text=True, env=env)
    assert ru.returncode == 1 and any("\u0400" <= ch <= "\u04ff" for ch in ru.stdout)


@pytest.mark.django_db
def test_cli_orgs_lists_codes(capsys):
    from tests import factories as f

    t = f.org_tree()
    call_command("orgs", "--kind", "school")
    out = capsys.readouterr().out
    assert t["school_a"].code in out and t["class_a1"].code not in out


@pytest.mark.django_db
def test_static_files_are_served(client):
    assert client.get("/static/schoolid/site.js").status_code == 200
    assert client.get("/static/schoolid/site.css").status_code == 200


def test_schoolid_serve_answers_health(tmp_path):
    """`schoolid migrate` and `schoolid serve` on the embedded default (SQLite, no other service)."""
    from tests.servers import migrate, serving

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
    env.update(SCHOOLID_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="schoolid.settings")
    migrate(env)
    with serving(env, "--workers", "1", stderr=subprocess.PIPE) as (server, _port, body):
        assert body is not None and body["status"] == "ok"
        assert body["database"]["backend"] == "sqlite" and body["cache"]["backend"] == "LocMemCache", body
        assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    # The server's own log lines are structured too.
    lines = [line for line in server.stderr.read().decode().splitlines() if line.strip()]
    assert lines and all(json.loads(line)["request_id"] for line in lines)


def test_an_empty_var_dir_setting_means_the_default_not_the_working_directory(tmp_path):
    """SCHOOLID_VAR_DIR="" (a shell variable that expanded to nothing) must not put the secret key in
    the working directory."""
    env = {k: v for k, v in os.environ.items() if k not in ("DJANGO_SETTINGS_MODULE",)}
    env["SCHOOLID_VAR_DIR"] = ""
    out = subprocess.run([sys.executable, "-c", "import schoolid.settings as s; print(s.VAR_DIR)"], env=env, cwd=tmp_path,
                         check=True, capture_output=True, text=True).stdout.strip()
    assert out == str((tmp_path / "var").resolve())
    assert not (tmp_path / "secret_key").exists()
