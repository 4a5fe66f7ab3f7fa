"""The SCIM filter language (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2), parsed into small trees.

A tree is evaluated either against the database (selectors.py turns it into Q objects) or against a
resource's JSON (the value filters of PATCH paths such as members[value eq "X"]).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

from schoolid.provisioning.scim.errors import ScimError

COMPARE_OPS = {"eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"}
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<lpar>\() | (?P<rpar>\)) | (?P<lbr>\[) | (?P<rbr>\]) |
        (?P<string>"(?:[^"\\]|\\.)*") |
        (?P<number>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?![\w:.$-])) |
        (?P<word>[A-Za-z$][\w:.$\-]*)
    )""",
    re.VERBOSE,
)
MAX_FILTER_LENGTH = 2000


def invalid_filter(detail) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


def invalid_path(detail) -> ScimError:
    return ScimError(400, detail, "invalidPath")


@dataclass(frozen=True)
class AttrPath:
    """schema (lower-cased URN or ""), attribute and sub-attribute (both lower-cased)."""

    schema: str
    attr: str
    sub: str = ""

    def __str__(self):
        text = f"{self.attr}.{self.sub}" if self.sub else self.attr
        return f"{self.schema}:{text}" if self.schema else text


@dataclass(frozen=True)
class Compare:
    path: AttrPath
    op: str
    value: object


@dataclass(frozen=True)
class Present:
    path: AttrPath


@dataclass(frozen=True)
class And:
    left: object
    right: object


@dataclass(frozen=True)
class Or:
    left: object
    right: object


@dataclass(frozen=True)
class Not:
    inner: object


@dataclass(frozen=True)
class ValuePath:
    """attr[filter]: the filter applies to the values of a multi-valued attribute."""

    path: AttrPath
    filter: object


def split_attr_path(text: str, known_schemas: tuple[str, ...], error=invalid_filter) -> AttrPath:
    lowered = text.lower()
    schema = ""
    for urn in sorted(known_schemas, key=len, reverse=True):
        if lowered.startswith(urn.lower() + ":"):
            schema, lowered = urn.lower(), lowered[len(urn) + 1 :]
            break
    else:
        if lowered.startswith("urn:"):
            raise error(f"Unknown schema in attribute path {text!r}")
    parts = lowered.split(".")
    if not parts[0] or len(parts) > 2 or any(not p for p in parts):
        raise error(f"Invalid attribute path {text!r}")
    return AttrPath(schema, parts[0], parts[1] if len(parts) == 2 else "")


class _Parser:
    def __init__(self, text: str, known_schemas: tuple[str, ...], error):
        if len(text) > MAX_FILTER_LENGTH:
            raise error("The filter is too long")
        self.error = error
        self.schemas = known_schemas
        self.tokens = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if not m or m.end() == pos:
                raise error(f"Cannot read the filter at position {pos}")
            kind = m.lastgroup
            self.tokens.append((kind, m.group(kind)))
            pos = m.end()
        self.i = 0

    def peek(self, offset=0):
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else (None, None)

    def take(self, kind=None):
        tok = self.peek()
        if tok[0] is None or (kind and tok[0] != kind):
            raise self.error("The filter ended early or has an unexpected token")
        self.i += 1
        return tok

    def word_is(self, *words, offset=0) -> bool:
        kind, value = self.peek(offset)
        return kind == "word" and value.lower() in words

    def parse_filter(self):
        node = self.parse_and()
        while self.word_is("or"):
            self.i += 1
            node = Or(node, self.parse_and())
        return node

    def parse_and(self):
        node = self.parse_not()
        while self.word_is("and"):
            self.i += 1
            node = And(node, self.parse_not())
        return node

    def parse_not(self):
        if self.word_is("not") and self.peek(1)[0] == "lpar":
            self.i += 1
            return Not(self.parse_atom())
        return self.parse_atom()

    def parse_atom(self):
        kind, _value = self.peek()
        if kind == "lpar":
            self.take("lpar")
            node = self.parse_filter()
            self.take("rpar")
            return node
        _kind, word = self.take("word")
        path = split_attr_path(word, self.schemas, self.error)
        if self.peek()[0] == "lbr":
            self.take("lbr")
            inner = self.parse_filter()
            self.take("rbr")
            return ValuePath(path, inner)
        _kind, op = self.take("word")
        op = op.lower()
        if op == "pr":
            return Present(path)
        if op not in COMPARE_OPS:
            raise self.error(f"Unknown operator {op!r}")
        return Compare(path, op, self.parse_value())

    def parse_value(self):
        kind, value = self.take()
        if kind == "string":
            try:
                return json.loads(value)
            except ValueError as exc:
                raise self.error("Invalid string in the filter") from exc
        if kind == "number":
            return float(value) if any(c in value for c in ".eE") else int(value)
        if kind == "word" and value.lower() in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[value.lower()]
        raise self.error(f"Invalid comparison value {value!r}")

    def done(self):
        if self.i != len(self.tokens):
            raise self.error("Unexpected text after the filter")


def parse_filter(text: str, known_schemas: tuple[str, ...]):
    parser = _Parser(text, known_schemas, invalid_filter)
    node = parser.parse_filter()
    parser.done()
    return node


@dataclass(frozen=True)
class PatchPath:
    """A PATCH target: attribute, optional value filter, optional sub-attribute after the filter."""

    path: AttrPath
    filter: object = None
    sub: str = ""


def parse_patch_path(text: str, known_schemas: tuple[str, ...]) -> PatchPath:
    text = (text or "").strip()
    if not text:
        raise invalid_path("The path is empty")
    lowered = text.lower()
    # A bare extension URN names the whole extension.
    for urn in known_schemas:
        if lowered == urn.lower():
            return PatchPath(AttrPath(urn.lower(), ""))
    if "[" not in text:
        return PatchPath(split_attr_path(text, known_schemas, invalid_path))
    head, _, rest = text.partition("[")
    inner, closing, tail = rest.rpartition("]")
    if not closing:
        raise invalid_path(f"Invalid path {text!r}")
    path = split_attr_path(head, known_schemas, invalid_path)
    if path.sub:
        raise invalid_path(f"Invalid path {text!r}")
    parser = _Parser(inner, known_schemas, invalid_path)
    node = parser.parse_filter()
    parser.done()
    sub = ""
    if tail:
        if not tail.startswith(".") or "." in tail[1:] or len(tail) < 2:
            raise invalid_path(f"Invalid path {text!r}")
        sub = tail[1:].lower()
    return PatchPath(path, node, sub)


# --- evaluation against JSON values -------------------------------------------------------------
def _get_ci(item: dict, name: str):
    for key, value in item.items():
        if key.lower() == name:
            return value
    return None


def _compare(actual, op, expected) -> bool:
    if op == "pr":
        return actual not in (None, "", [], {})
    if isinstance(actual, str) and isinstance(expected, str):
        actual, expected = actual.lower(), expected.lower()
    if op == "eq":
        return actual == expected
    if op == "ne":
        return actual != expected
    if actual is None or expected is None:
        return False
    try:
        if op == "co":
            return str(expected) in str(actual)
        if op == "sw":
            return str(actual).startswith(str(expected))
        if op == "ew":
            return str(actual).endswith(str(expected))
        return {"gt": actual > expected, "ge": actual >= expected, "lt": actual < expected, "le": actual <= expected}[op]
    except TypeError:
        return False


def matches(node, item: dict) -> bool:
    """Does a value of a multi-valued complex attribute match a value filter (sub-attribute names)?"""
    if isinstance(node, And):
        return matches(node.left, item) and matches(node.right, item)
    if isinstance(node, Or):
        return matches(node.left, item) or matches(node.right, item)
    if isinstance(node, Not):
        return not matches(node.inner, item)
    if isinstance(node, (Compare, Present)):
        name = node.path.sub or node.path.attr
        actual = _get_ci(item, name) if isinstance(item, dict) else (item if name == "value" else None)
        return _compare(actual, "pr" if isinstance(node, Present) else node.op, None if isinstance(node, Present) else node.value)
    raise invalid_path("Nested value filters are not supported")
