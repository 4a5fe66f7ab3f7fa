"""Country profiles: one TOML file per country, loaded into a frozen dataclass.

A profile is data, not code branches. Values come from the five source systems
(shared/docs/seed-systems.md); where a source behaviour contradicts the security requirements it
appears here as a `legacy_*` option that is off by default.
"""
from __future__ import annotations

import functools
import tomllib
from dataclasses import dataclass, field
from importlib import resources

PROFILE_CODES = ("ir", "il", "pl", "bd", "ru")

LOGIN_IDENTIFIERS = ("user_code", "national_id", "email", "mobile")
ROLES = (
    "student",
    "guardian",
    "teacher",
    "class_teacher",
    "secretary",
    "principal",
    "cluster_supervisor",
    "district_officer",
    "ministry_admin",
)
RECOVERY_METHODS = (
    "principal_reset",
    "supervisor_reset",
    "school_admin_contact",
    "email_link",
    "sms_code",
    "national_id_email",
    "security_question",
)
# Who gives people their credentials. "self_activation": activation from the register (seed 002,
# flows/activation.py); "self_registration": parents register themselves (seed 001, flows/registration.py,
# /register/ and its link on the sign-in page).
CREDENTIAL_ISSUERS = ("principal", "supervisor", "self_activation", "self_registration", "school_admin")


@dataclass(frozen=True)
class PasswordPolicy:
    # NIST 800-63B rev. 4 §3.1.1.2: 15 when the password is the only factor, 8 with a second factor.
    min_length_single_factor: int = 15
    min_length_with_mfa: int = 8
    max_length: int = 128
    blocklist: bool = True
    # Legacy composition rule (seed 000). Non-conformant with NIST 800-63B-4 / ASVS 6.2.5.
    legacy_composition: bool = False


@dataclass(frozen=True)
class Retention:
    """How long personal data is kept (docs/privacy.md gives the reasoning for each default)."""

    # A person who left the register (roles ended, account disabled) is erased this long after leaving.
    left_people_days: int = 365
    audit_event_days: int = 730
    # Bodies of delivered or failed messages (they may hold codes and links) are emptied after this;
    # no code or link lives longer than 24 hours.
    outbox_body_hours: int = 24
    outbox_message_days: int = 90
    import_report_days: int = 180
    # Finished or expired journeys (flows with their codes and links) and expired database sessions.
    ended_session_days: int = 30


@dataclass(frozen=True)
class Profile:
    code: str
    country: str
    name: str
    default_language: str
    time_zone: str
    national_id_scheme: str
    phone_region: str
    login_identifiers: tuple[str, ...]
    credential_issuers: tuple[str, ...]
    recovery_methods: tuple[str, ...]
    sms_sign_in_roles: tuple[str, ...]
    mfa_required_roles: tuple[str, ...]
    age_threshold: int
    class_teacher_may_reset: bool
    parent_may_reset_young_child: bool
    first_use_forces_change: bool
    issued_secret_days: int
    password_policy: PasswordPolicy = field(default_factory=PasswordPolicy)
    # Security questions (seed 000, 003). Non-conformant with ASVS 6.4.2 / NIST §3.1.1.2(8).
    legacy_security_questions: bool = False
    retention: Retention = field(default_factory=Retention)
    # false: a register (OneRoster) person without a national ID is kept, keyed by the source's
    # sourcedId under the scheme SOURCE_SCHEME, never merged with a national-ID person.
    national_id_required: bool = True

    def allows_identifier(self, kind: str) -> bool:
        return kind in self.login_identifiers


def _tuple(data: dict, key: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    values = tuple(data.get(key, ()))
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise ValueError(f"profile {data.get('code')}: unknown {key} {unknown}")
    return values


def parse_profile(data: dict) -> Profile:
    policy = PasswordPolicy(**data.get("password_policy", {}))
    if policy.min_length_with_mfa < 8 or policy.max_length < 64:
        raise ValueError(f"profile {data['code']}: password policy below ASVS 6.2.1 / 6.2.9")
    return Profile(
        code=data["code"],
        country=data["country"],
        name=data["name"],
        default_language=data["default_language"],
        time_zone=data["time_zone"],
        national_id_scheme=data["national_id_scheme"],
        phone_region=data["phone_region"],
        login_identifiers=_tuple(data, "login_identifiers", LOGIN_IDENTIFIERS),
        credential_issuers=_tuple(data, "credential_issuers", CREDENTIAL_ISSUERS),
        recovery_methods=_tuple(data, "recovery_methods", RECOVERY_METHODS),
        sms_sign_in_roles=_tuple(data, "sms_sign_in_roles", ROLES),
        mfa_required_roles=_tuple(data, "mfa_required_roles", ROLES),
        age_threshold=int(data["age_threshold"]),
        class_teacher_may_reset=bool(data.get("class_teacher_may_reset", False)),
        parent_may_reset_young_child=bool(data.get("parent_may_reset_young_child", False)),
        first_use_forces_change=bool(data.get("first_use_forces_change", True)),
        issued_secret_days=int(data.get("issued_secret_days", 14)),
        password_policy=policy,
        legacy_security_questions=bool(data.get("legacy_security_questions", False)),
        retention=_retention(data),
        national_id_required=bool(data.get("national_id_required", True)),
    )


def _retention(data: dict) -> Retention:
    values = data.get("retention", {})
    unknown = set(values) - set(Retention.__dataclass_fields__)
    if unknown:
        raise ValueError(f"profile {data.get('code')}: unknown retention settings {sorted(unknown)}")
    retention = Retention(**{k: int(v) for k, v in values.items()})
    if min(vars(retention).values()) < 0:
        raise ValueError(f"profile {data.get('code')}: a retention period is negative")
    return retention


@functools.cache
def load_profile(code: str) -> Profile:
    code = code.strip().lower()
    if code not in PROFILE_CODES:
        raise ValueError(f"unknown country profile {code!r}; choose one of {', '.join(PROFILE_CODES)}")
    text = resources.files(__package__).joinpath(f"{code}.toml").read_text(encoding="utf-8")
    return parse_profile(tomllib.loads(text))


def current_profile() -> Profile:
    from django.conf import settings

    return settings.SCHOOLID_PROFILE
