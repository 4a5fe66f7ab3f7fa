"""Reading SCIM JSON case-insensitively and applying PATCH operations (RFC 7644 §3.5.2) to a resource.

A PATCH is applied to the resource's current JSON; the result is then written through the same
service as a PUT, so both run exactly the same checks.
"""
from __future__ import annotations

import copy

from schoolid.provisioning.scim import schemas as S
from schoolid.provisioning.scim.errors import ScimError, bad
from schoolid.provisioning.scim.filters import Compare, matches, parse_patch_path

# Contact attributes of which SchoolID keeps one value: an add or replace through a value filter
# that matches nothing makes the value (Entra ID's emails[type eq "work"].value on a user without an
# e-mail), and the value made is the one kept.
ONE_KEPT = ("emails", "phonenumbers")

COMMON = {"externalid": {"name": "externalId", "type": "string", "multiValued": False, "mutability": "readWrite"},
          "id": {"name": "id", "type": "string", "multiValued": False, "mutability": "readOnly"},
          "meta": {"name": "meta", "type": "complex", "multiValued": False, "mutability": "readOnly"},
          "schemas": {"name": "schemas", "type": "string", "multiValued": True, "mutability": "readOnly"}}


class ResourceShape:
    """The attribute definitions of one resource type: core, common and one extension."""

    def __init__(self, core_urn: str, core: list[dict], ext_urn: str, ext: list[dict]):
        self.core_urn, self.ext_urn = core_urn, ext_urn
        self.core = {a["name"].lower(): a for a in core} | COMMON
        self.ext = {a["name"].lower(): a for a in ext}
        self.schemas = (core_urn, ext_urn)

    # --- canonical JSON ---------------------------------------------------------------------
    def canonical_value(self, definition: dict, value):
        if definition.get("type") != "complex" or value is None:
            return value
        subs = {s["name"].lower(): s for s in definition.get("subAttributes", [])}

        def one(item):
            if not isinstance(item, dict):
                # A bare value for a multi-valued complex attribute stands for its "value".
                return {"value": item} if "value" in subs else item
            out = {}
            for key, sub_value in item.items():
                sub = subs.get(str(key).lower())
                out[sub["name"] if sub else key] = sub_value
            return out

        if definition.get("multiValued"):
            items = value if isinstance(value, list) else [value]
            return [one(i) for i in items]
        return one(value)

    def canonical(self, body: dict) -> dict:
        """The resource body with canonical attribute names; unknown attributes are dropped."""
        if not isinstance(body, dict):
            raise bad("The body must be a JSON object", "invalidSyntax")
        out: dict = {}
        ext_lower = self.ext_urn.lower()
        for key, value in body.items():
            low = str(key).lower()
            if low == ext_lower:
                if not isinstance(value, dict):
                    raise bad(f"{self.ext_urn} must be an object", "invalidSyntax")
                target = out.setdefault(self.ext_urn, {})
                for sub_key, sub_value in value.items():
                    definition = self.ext.get(str(sub_key).lower())
                    if definition:
                        target[definition["name"]] = self.canonical_value(definition, sub_value)
            elif low.startswith(ext_lower + ":"):
                definition = self.ext.get(low[len(ext_lower) + 1 :])
                if definition:
                    out.setdefault(self.ext_urn, {})[definition["name"]] = self.canonical_value(definition, value)
            else:
                if low.startswith(self.core_urn.lower() + ":"):
                    low = low[len(self.core_urn) + 1 :]
                definition = self.core.get(low)
                if definition:
                    out[definition["name"]] = self.canonical_value(definition, value)
        return self.kept_contacts(out)

    def kept_contacts(self, doc: dict) -> dict:
        """Phone numbers of a type other than mobile are accepted and not stored (README)."""
        phones = doc.get("phoneNumbers")
        if isinstance(phones, list):
            doc["phoneNumbers"] = [p for p in phones if not (isinstance(p, dict) and _type_of(p) not in ("", S.KEPT_PHONE_TYPE))]
        return doc

    # --- PATCH ----------------------------------------------------------------------------------
    def apply_patch(self, current: dict, body: dict) -> tuple[dict, set[str]]:
        """The resource after the operations, and the names of the attributes they touched."""
        if not isinstance(body, dict):
            raise bad("The body must be a JSON object", "invalidSyntax")
        operations = None
        for key, value in body.items():
            if str(key).lower() == "operations":
                operations = value
        if not isinstance(operations, list) or not operations:
            raise bad("A PatchOp needs a non-empty Operations list", "invalidSyntax")
        doc = copy.deepcopy(current)
        touched: set[str] = set()
        for operation in operations:
            if not isinstance(operation, dict):
                raise bad("Each operation must be an object", "invalidSyntax")
            op_items = {str(k).lower(): v for k, v in operation.items()}
            op = str(op_items.get("op", "")).lower()
            if op not in ("add", "replace", "remove"):
                raise bad("op must be add, replace or remove", "invalidSyntax")
            path, value = op_items.get("path"), op_items.get("value")
            if path in (None, ""):
                if op == "remove":
                    raise ScimError(400, "remove needs a path", "noTarget")
                if not isinstance(value, dict):
                    raise bad("Without a path, the value must be an object", "invalidSyntax")
                for key, sub_value in value.items():
                    self._apply_one(doc, op, str(key), sub_value, touched)
            else:
                if not isinstance(path, str):
                    raise ScimError(400, "The path must be a string", "invalidPath")
                self._apply_one(doc, op, path, value, touched)
        return self.kept_contacts(doc), touched

    def _target(self, doc: dict, path):
        """(container dict, definition) for a parsed path; readOnly attributes are refused."""
        schema, name = path.schema, path.attr
        if schema == self.ext_urn.lower() and not name:
            definition = {"name": self.ext_urn, "type": "complex", "multiValued": False, "mutability": "readWrite",
                          "subAttributes": list(self.ext.values())}
            return doc, definition
        if schema == self.ext_urn.lower() or (not schema and name not in self.core and name in self.ext):
            definition = self.ext.get(name)
            container = doc.setdefault(self.ext_urn, {})
        else:
            definition = self.core.get(name)
            container = doc
        if definition is None:
            raise ScimError(400, f"Unknown attribute {path}", "invalidPath")
        if definition.get("mutability") == "readOnly":
            raise ScimError(400, f"{definition['name']} is read-only", "mutability")
        return container, definition

    def _apply_one(self, doc: dict, op: str, raw_path: str, value, touched: set[str]) -> None:
        parsed = parse_patch_path(raw_path, self.schemas)
        container, definition = self._target(doc, parsed.path)
        key = definition["name"]
        touched.add(key)
        multi = definition.get("multiValued")
        sub_name = parsed.path.sub or parsed.sub
        if sub_name:
            subs = {s["name"].lower(): s for s in definition.get("subAttributes", [])}
            sub_def = subs.get(sub_name)
            if sub_def is None:
                raise ScimError(400, f"Unknown attribute {raw_path}", "invalidPath")
            if sub_def.get("mutability") == "readOnly":
                raise ScimError(400, f"{raw_path} is read-only", "mutability")
            sub_key = sub_def["name"]
        if op != "remove" and value is None:
            raise bad(f"{op} needs a value", "invalidSyntax")

        if parsed.filter is not None:
            if not multi:
                raise ScimError(400, f"{key} is not multi-valued", "invalidPath")
            items = container.get(key) or []
            hits = [i for i, item in enumerate(items) if matches(parsed.filter, item)]
            if not hits and op != "remove" and key.lower() in ONE_KEPT and _simple_equality(parsed.filter):
                made = {_sub_name(definition, parsed.filter.path): parsed.filter.value}
                if sub_name:
                    made[sub_key] = value
                elif isinstance(value, dict):
                    made.update(self.canonical_value({**definition, "multiValued": False}, value))
                else:
                    raise bad(f"The value for {raw_path} must be an object", "invalidSyntax")
                # The value made is the one kept.
                container[key] = [{**item, "primary": False} if isinstance(item, dict) else item for item in items] + [{**made, "primary": True}]
                return
            if not hits:
                raise ScimError(400, f"No value of {key} matches the filter", "noTarget")
            if op == "remove":
                if sub_name:
                    for i in hits:
                        items[i].pop(sub_key, None)
                else:
                    container[key] = [item for i, item in enumerate(items) if i not in hits]
            else:
                for i in hits:
                    if sub_name:
                        items[i][sub_key] = value
                    elif isinstance(value, dict):
                        items[i] = {**items[i], **self.canonical_value({**definition, "multiValued": False}, value)}
                    else:
                        raise bad(f"The value for {raw_path} must be an object", "invalidSyntax")
                container[key] = items
            return

        if sub_name:
            if multi:
                items = container.get(key) or []
                for item in items:
                    if op == "remove":
                        item.pop(sub_key, None)
                    else:
                        item[sub_key] = value
                container[key] = items
            else:
                inner = container.get(key) or {}
                if op == "remove":
                    inner.pop(sub_key, None)
                else:
                    inner[sub_key] = value
                container[key] = inner
            return

        if op == "remove":
            if multi and value is not None:
                # Azure AD removes members with {"path": "members", "value": [{"value": id}]}.
                drop = [v for v in self.canonical_value(definition, value)]
                container[key] = [item for item in container.get(key) or []
                                  if not any(_same_value(item, d) for d in drop)]
            elif container is doc and key == self.ext_urn:
                doc.pop(self.ext_urn, None)
            else:
                container.pop(key, None)
            return

        new = self.canonical_value(definition, value)
        if multi:
            if op == "add":
                existing = list(container.get(key) or [])
                for item in new:
                    if not any(_same_value(item, e) for e in existing):
                        existing.append(item)
                container[key] = existing
            else:
                container[key] = new
        elif definition.get("type") == "complex":
            if not isinstance(new, dict):
                raise bad(f"The value for {raw_path} must be an object", "invalidSyntax")
            if container is doc and key == self.ext_urn:
                target = doc.setdefault(self.ext_urn, {})
                for sub_key, sub_value in new.items():
                    sub_def = self.ext.get(str(sub_key).lower())
                    if sub_def is None:
                        continue
                    if sub_def.get("mutability") == "readOnly":
                        raise ScimError(400, f"{sub_def['name']} is read-only", "mutability")
                    target[sub_def["name"]] = self.canonical_value(sub_def, sub_value)
            else:
                container[key] = {**(container.get(key) or {}), **new}
        else:
            container[key] = new


def _same_value(a, b) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        av, bv = a.get("value"), b.get("value")
        if av is not None or bv is not None:
            return str(av).lower() == str(bv).lower()
    return a == b


def _type_of(item: dict) -> str:
    for key, value in item.items():
        if str(key).lower() == "type":
            return str(value or "").lower()
    return ""


def _simple_equality(node) -> bool:
    """`type eq "work"`: a filter that says what the value to make is."""
    return isinstance(node, Compare) and node.op == "eq" and isinstance(node.value, str) and not node.path.schema


def _sub_name(definition: dict, path) -> str:
    name = path.sub or path.attr
    for sub in definition.get("subAttributes", []):
        if sub["name"].lower() == name:
            return sub["name"]
    return name
