"""The password policy (security requirements §1, conflict C1)."""
import dataclasses

from django.utils import translation

from schoolid.accounts.passwords import check_password_policy
from schoolid.core.profiles import load_profile

IR = load_profile("ir")


def codes(password, **kwargs):
    return [p.code for p in check_password_policy(password, profile=kwargs.pop("profile", IR), **kwargs)]


def test_single_factor_needs_15_and_mfa_roles_8():
    """NIST §3.1.1.2(1); ASVS v5 6.2.1."""
    assert codes("kqzvwmtrplxnbgh"[:14]) == ["too_short"]
    assert codes("kqzvwmtrplxnbgh") == []
    assert codes("kqzvwmt", roles={"principal"}) == ["too_short"]
    assert codes("kqzvwmtr", roles={"principal"}) == []


def test_no_composition_rules_by_default():
    """NIST §3.1.1.2(5); ASVS v5 6.2.5."""
    assert codes("maple river lantern quietly") == []
    messages = [p.message for p in check_password_policy("short", profile=IR)]
    assert not any(word in " ".join(messages).lower() for word in ("upper", "digit", "symbol", "lower-case"))


def test_long_and_unicode_passwords():
    """NIST §3.1.1.2(2-4); ASVS v5 6.2.8, 6.2.9: 64+ characters, any Unicode, counted in code points."""
    assert codes("پنجره‌ی آبی رو به باغ انار") == []
    assert codes("আমার সোনার বাংলা") == []  # 16 multibyte code points
    assert len("আমার সোনার বাংলা") == 16 and len("আমার সোনার বাংলা".encode()) > 40
    assert codes("x" * 128 + " long enough") == ["too_long"]
    sentence = "the quiet harbor keeps seven lanterns glowing under the winter rain"
    assert len(sentence) >= 64 and codes(sentence) == []


def test_blocklist_and_context_words():
    """NIST §3.1.1.2 (blocklist); ASVS v5 6.2.4, 6.2.11, 6.2.12: the whole password, with a reason."""
    for guessable in ("1234567890123456", "qwertyuiopasdfgh", "aaaaaaaaaaaaaaaaa", "0987654321098765", "abababababababab", "1qaz2wsx3edc4rfv"):
        assert codes(guessable) == ["blocklisted"], guessable
    assert codes("iloveyou", roles={"principal"}) == ["blocklisted"]  # on the common list
    assert codes("password12345678") == ["context"]  # the service's own word
    context = ("Ali", "Rezaei", "Alborz High School")
    assert codes("alirezaeialirezaei", context_words=context) == ["context"]
    assert codes("Alborz High School 2026", context_words=context) == ["context"]
    # Merely containing a word is fine.
    assert codes("alborz mountains at dawn", context_words=context) == []


def test_reasons_are_translated():
    with translation.override("fa"):
        message = check_password_policy("short", profile=IR)[0].message
    assert "15" in message and any("\u0600" <= ch <= "\u06ff" for ch in message)


def test_legacy_composition_rule_is_a_labelled_option():
    """Conflict C1: seed 000's rule exists only as a labelled, non-default option."""
    legacy = dataclasses.replace(IR, password_policy=dataclasses.replace(IR.password_policy, legacy_composition=True))
    with translation.override("en"):
        problems = check_password_policy("maple river lantern quietly", profile=legacy)
    assert [p.code for p in problems] == ["composition"] and "Legacy" in problems[0].message
    assert check_password_policy("Maple river lantern 7!", profile=legacy) == []


def test_predictable_derivations_of_listed_passwords_are_refused_at_any_length():
    """Issue 11 item 4; NIST §3.1.1.2 (blocklist: "commonly-used, expected"), ASVS v5 6.2.4, 6.2.12: a listed
    password with digits or symbols appended, keyboard walks, repeats and sequences are refused however
    long they are, with a reason that says why and what would work."""
    for guessable in ("iloveyou12345678", "qwertyuiop123456", "sunshine2024!!!!!", "dragondragon1234", "p@ssw0rdp@ssw0rd",
                      "football1234567890", "1qaz2wsx3edc4rfv5tgb", "monkeymonkeymonkey1", "x7qx7qx7qx7qx7qx7q"):
        assert codes(guessable) == ["blocklisted"], guessable
    with translation.override("en"):
        message = check_password_policy("iloveyou12345678", profile=IR)[0].message
    assert "predictable" in message and "unrelated words" in message
    # Not derivations: a passphrase, a sentence that contains listed words, random digits, a word with random letters.
    for fine in ("maple river lantern quietly", "my dragon lives on mars since 1999", "8302749175620394", "dragon kqzvwmtrplx",
                 "purple otter juggles kites"):
        assert codes(fine) == [], fine
