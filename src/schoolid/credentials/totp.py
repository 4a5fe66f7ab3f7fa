"""TOTP (RFC 6238) second factor for staff, with ten hashed single-use recovery codes."""
from __future__ import annotations

import base64
import time

import pyotp
import segno
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from schoolid.core.digits import only_digits
from schoolid.credentials.generators import generate_recovery_code, hash_secret, normalize_recovery_code, verify_secret
from schoolid.credentials.models import RecoveryCode, TotpDevice

ISSUER = "SchoolID"
RECOVERY_CODE_COUNT = 10
# Accept the previous and the next 30-second step for clock drift.
VALID_WINDOW = 1


def _fernet() -> Fernet:
    key = settings.SCHOOLID_FIELD_KEY or settings.SECRET_KEY
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"schoolid", info=b"totp-seed-v1").derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def seed_of(device: TotpDevice) -> str:
    return _fernet().decrypt(device.encrypted_seed.encode()).decode()


def start_enrolment(account) -> TotpDevice:
    """A fresh, unconfirmed device (replacing an unconfirmed one)."""
    TotpDevice.objects.filter(account=account, confirmed_at__isnull=True).delete()
    seed = pyotp.random_base32(32)  # 160 bits, RFC 4226 §4
    return TotpDevice.objects.create(account=account, encrypted_seed=_fernet().encrypt(seed.encode()).decode())


def provisioning_uri(device: TotpDevice, label: str) -> str:
    return pyotp.TOTP(seed_of(device)).provisioning_uri(name=label, issuer_name=ISSUER)


def qr_svg_data_uri(uri: str) -> str:
    return segno.make(uri, error="m").svg_data_uri(scale=5, border=2)


def _matching_step(device: TotpDevice, code: str, now: float | None = None) -> int | None:
    code = only_digits(code)
    if len(code) != 6:
        return None
    totp = pyotp.TOTP(seed_of(device))
    now = time.time() if now is None else now
    current = int(now) // totp.interval
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if step > device.last_step and totp.generate_otp(step) == code:
            return step
    return None


def verify_totp(device: TotpDevice, code: str, now: float | None = None) -> bool:
    """True once per time step: the step is recorded atomically so a code cannot be replayed."""
    step = _matching_step(device, code, now)
    if step is None:
        return False
    return TotpDevice.objects.filter(pk=device.pk, last_step__lt=step).update(last_step=step) == 1


@transaction.atomic
def confirm_enrolment(device: TotpDevice, code: str) -> list[str] | None:
    """Confirm with a first code; returns the recovery codes to show once, or None if the code is wrong."""
    if not verify_totp(device, code):
        return None
    TotpDevice.objects.filter(account=device.account, confirmed_at__isnull=False).exclude(pk=device.pk).delete()
    TotpDevice.objects.filter(pk=device.pk).update(confirmed_at=timezone.now())
    return issue_recovery_codes(device.account)


def issue_recovery_codes(account) -> list[str]:
    RecoveryCode.objects.filter(account=account).delete()
    codes = [generate_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    RecoveryCode.objects.bulk_create([RecoveryCode(account=account, code_hash=hash_secret(c)) for c in codes])
    return codes


def use_recovery_code(account, raw: str) -> bool:
    code = normalize_recovery_code(raw)
    if code is None:
        return False
    for candidate in RecoveryCode.objects.filter(account=account, used_at__isnull=True):
        if verify_secret(code, candidate.code_hash):
            return RecoveryCode.objects.filter(pk=candidate.pk, used_at__isnull=True).update(used_at=timezone.now()) == 1
    return False


def confirmed_device(account) -> TotpDevice | None:
    return TotpDevice.objects.filter(account=account, confirmed_at__isnull=False).first()


def remove_second_factor(account) -> int:
    """Delete the device and codes, so the account enrols again at its next sign-in."""
    removed, _ = TotpDevice.objects.filter(account=account).delete()
    RecoveryCode.objects.filter(account=account).delete()
    return removed
