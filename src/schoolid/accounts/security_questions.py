"""Security questions: a LEGACY option of some source systems (seeds 000, 001, 003), off by default.

Non-conformant with ASVS v5 6.4.2 and NIST SP 800-63B §3.1.1.2(8) (security requirements C2). Where a
country profile turns it on, a question is only ever an extra step after the e-mail link or SMS code,
never instead of it; answers are normalised and stored like passwords; wrong answers count as failed
sign-ins; the same question is asked until it is answered; changing it needs the password."""
from __future__ import annotations

import unicodedata

from django.contrib.auth.hashers import check_password, make_password
from django.db import models
from django.utils.translation import gettext_lazy as _

from schoolid.core.digits import ascii_digits
from schoolid.core.profiles import current_profile

QUESTIONS = {
    "first_school": _("What was the name of your first school?"),
    "first_teacher": _("What was the family name of your first teacher?"),
    "birth_city": _("In which town or village was your mother born?"),
    "childhood_street": _("What was the name of the street you lived on as a child?"),
}


def enabled() -> bool:
    return current_profile().legacy_security_questions


def normalize_answer(raw: str) -> str:
    """Case, spacing, digit script and Unicode form do not matter."""
    value = unicodedata.normalize("NFC", ascii_digits(raw)).casefold()
    return " ".join(value.split())


class SecurityAnswer(models.Model):
    account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE, related_name="security_answer")
    question = models.CharField(max_length=32, choices=[(k, v) for k, v in QUESTIONS.items()])
    answer_hash = models.CharField(max_length=255)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "accounts"

    def set_answer(self, raw: str) -> None:
        self.answer_hash = make_password(normalize_answer(raw))

    def matches(self, raw: str) -> bool:
        return check_password(normalize_answer(raw), self.answer_hash)
