"""A tiny .po reader for the completeness test (no extra dependency)."""
import ast
from pathlib import Path


def check(path: Path) -> tuple[list[str], list[str]]:
    """(untranslated msgids, fuzzy msgids) of a .po file, ignoring the header entry."""
    untranslated, fuzzy = [], []
    entries = Path(path).read_text(encoding="utf-8").split("\n\n")
    for entry in entries:
        lines = [ln for ln in entry.strip().splitlines() if ln and not ln.startswith("#~")]
        if not lines:
            continue
        flags = " ".join(ln for ln in lines if ln.startswith("#,"))
        fields: dict[str, str] = {}
        current = None
        for ln in lines:
            if ln.startswith("#"):
                continue
            if ln.startswith('"'):
                if current:
                    fields[current] += ast.literal_eval(ln)
                continue
            key, _sep, rest = ln.partition(" ")
            current = key
            fields[key] = ast.literal_eval(rest) if rest else ""
        msgid = fields.get("msgid", "")
        if not msgid:
            continue
        translations = [v for k, v in fields.items() if k.startswith("msgstr")]
        if not translations or any(not t for t in translations):
            untranslated.append(msgid)
        if "fuzzy" in flags:
            fuzzy.append(msgid)
    return untranslated, fuzzy
