"""Age rules from the country profile's `age_threshold` (issue 6 item 5; seed 004: 14 in Russia).

Under the threshold a pupil does not register or activate alone: a parent gives the child access from
the family page (a one-time password and a slip, credentials.services.parent_reset), or the school
issues one. At or over it, a pupil activates only through a contact of their own: an e-mail address
the register shares with one of their guardians does not count."""
from __future__ import annotations

import datetime

from django.utils import timezone

from schoolid.core.profiles import Profile, current_profile


def age_on(birth: datetime.date, today: datetime.date) -> int:
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def is_young_person(person, profile: Profile | None = None) -> bool:
    """Under the profile's age threshold, by the register's birth date (unknown: not young)."""
    if person is None or person.birth_date is None:
        return False
    profile = profile or current_profile()
    return age_on(person.birth_date, timezone.localdate()) < profile.age_threshold


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
