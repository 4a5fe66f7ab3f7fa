"""Age rules from the country profile's `age_threshold` (issue 6 item 5; seed 004: 14 in Russia).

Under the threshold a pupil does not register or activate alone: a parent gives the child access from
the family page (a one-time password and a slip, credentials.services.parent_reset), or the school
issues one. At or over it, a pupil activates only through a contact of their own: an e-mail address
the register shares with one of their guardians does not count."""
from __future__ import annotations

# The threshold is one rule with the parent's right over a young child, so it lives in the scope rule.
from schoolid.accounts.scope import age_on  # noqa: F401
from schoolid.accounts.scope import is_young as is_young_person


def guardian_shares_email(person) -> bool:
    """Whether the person's e-mail is also one of their guardians' (then it is not their own)."""
    from schoolid.directory.models import Guardianship

    if person is None or not person.email:
        return False
    return Guardianship.objects.filter(student=person, status__in=[Guardianship.Status.PROPOSED, Guardianship.Status.CONFIRMED],
                                       guardian__email=person.email).exists()


def refusal_for_activation(account) -> str | None:
    """Why this account may not be activated by its owner alone, or None."""
    person = account.person if account is not None else None
    if is_young_person(person):
        return "under_age_threshold"
    if account is not None and account.has_role("student") and guardian_shares_email(person):
        return "contact_not_own"
    return None
