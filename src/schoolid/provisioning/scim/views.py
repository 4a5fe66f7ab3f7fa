"""SCIM 2.0 endpoints (RFC 7644). Thin: authenticate, read the request, call selectors or services,
write application/scim+json. Plain Django views rather than ninja: SCIM has its own media type, error
body and query language."""
from __future__ import annotations

import json
import logging

from django.db import IntegrityError
from django.http import HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from schoolid.core.digits import ascii_digits
from schoolid.provisioning.scim import schemas as S
from schoolid.provisioning.scim import selectors, services
from schoolid.provisioning.scim.errors import ScimError, bad, not_found
from schoolid.provisioning.scim.filters import AttrPath, invalid_filter, split_attr_path

logger = logging.getLogger("schoolid.scim")
CONTENT_TYPE = "application/scim+json"
MAX_BODY = 1024 * 1024


def _response(data, status=200, headers=None) -> HttpResponse:
    response = JsonResponse(data, status=status, content_type=CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})
    response["Cache-Control"] = "no-store"  # people's data (ASVS v5 14.3.2)
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def error_response(exc: ScimError) -> HttpResponse:
    body = {"schemas": [S.ERROR], "status": str(exc.status), "detail": exc.detail}
    if exc.scim_type:
        body["scimType"] = exc.scim_type
    headers = {"WWW-Authenticate": 'Bearer realm="SchoolID SCIM"'} if exc.status == 401 else {}
    return _response(body, exc.status, headers)


def _base_url(request) -> str:
    return request.build_absolute_uri(reverse("scim:root")).rstrip("/")


def _body(request) -> dict:
    raw = request.body
    if len(raw) > MAX_BODY:
        raise ScimError(413, "The request body is too large")
    if b"\x00" in raw or b"\\u0000" in raw:
        raise bad("The request contains a NUL character", "invalidSyntax")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad("The body is not valid JSON", "invalidSyntax") from exc
    if not isinstance(data, dict):
        raise bad("The body must be a JSON object", "invalidSyntax")
    return data


def scim_endpoint(*methods):
    """Authenticate every request with its bearer token; answer SCIM errors as SCIM error bodies."""

    def decorate(view):
        @csrf_exempt
        def wrapped(request, *args, **kwargs):
            try:
                token = services.authenticate(request)
                if request.method not in methods:
                    response = error_response(ScimError(405, f"{request.method} is not allowed here"))
                    response["Allow"] = ", ".join(methods)
                    return response
                return view(request, token, *args, **kwargs)
            except ScimError as exc:
                if getattr(exc, "audit", None):
                    exc.audit()
                return error_response(exc)
            except IntegrityError:
                logger.warning("scim: integrity error", exc_info=True)
                return error_response(ScimError(409, "The change conflicts with stored data", "uniqueness"))
            except Exception:
                logger.exception("scim: unexpected error")
                return error_response(ScimError(500, "Internal error"))

        wrapped.__name__ = view.__name__
        return wrapped

    return decorate


# --- listing, paging and attribute selection --------------------------------------------------------
def _int(value, name: str, default: int) -> int:
    if value in (None, ""):
        return default
    text = ascii_digits(str(value)).strip()
    try:
        return int(text)
    except ValueError as exc:
        raise bad(f"{name} must be an integer") from exc


def _names(value) -> list[str]:
    if value in (None, ""):
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    return [str(i).strip() for i in items if str(i).strip()]


ALWAYS = {"schemas", "id"}


def _select(doc: dict, shape, attributes: list[str], excluded: list[str]) -> dict:
    if not attributes and not excluded:
        return doc
    ext = shape.ext_urn

    def parse(text) -> AttrPath:
        if text.lower() in (ext.lower(), shape.core_urn.lower()):
            return AttrPath(text.lower(), "")
        return split_attr_path(text, shape.schemas, invalid_filter)

    def locate(path: AttrPath):
        """(container key or None for top level, canonical attribute name or None for a whole extension)."""
        if path.schema == ext.lower():
            if not path.attr:
                return None, ext
            for key in doc.get(ext, {}):
                if key.lower() == path.attr:
                    return ext, key
            return ext, None
        if path.schema == shape.core_urn.lower() and not path.attr:
            return "core", None
        for key in doc:
            if key.lower() == path.attr:
                return None, key
        for key in doc.get(ext, {}):
            if not path.schema and key.lower() == path.attr:
                return ext, key
        return None, None

    def sub_key(value, sub):
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, dict):
                for key in item:
                    if key.lower() == sub:
                        return key
        return None

    if attributes:
        out = {k: v for k, v in doc.items() if k in ALWAYS or k == "userName"}
        for text in attributes:
            path = parse(text)
            where, key = locate(path)
            if where == "core":
                out.update({k: v for k, v in doc.items() if k != ext})
                continue
            if key is None:
                continue
            source = doc if where is None else doc.get(ext, {})
            target = out if where is None else out.setdefault(ext, {})
            value = source[key]
            if path.sub:
                sk = sub_key(value, path.sub)
                if sk is None:
                    continue
                if isinstance(value, list):
                    target[key] = [{sk: item[sk]} for item in value if isinstance(item, dict) and sk in item]
                else:
                    target.setdefault(key, {})[sk] = value[sk]
            else:
                target[key] = value
        return out

    out = json.loads(json.dumps(doc))
    for text in excluded:
        path = parse(text)
        where, key = locate(path)
        if key is None or (where is None and key in ALWAYS | {"userName"}):
            continue
        container = out if where is None else out.get(ext, {})
        if path.sub and key in container:
            value = container[key]
            sk = sub_key(value, path.sub)
            for item in (value if isinstance(value, list) else [value]):
                if isinstance(item, dict) and sk:
                    item.pop(sk, None)
        else:
            container.pop(key, None)
    return out


def _list(request, token, params: dict, kind: str) -> HttpResponse:
    start = max(1, _int(params.get("startIndex"), "startIndex", 1))
    count = min(max(0, _int(params.get("count"), "count", S.DEFAULT_COUNT)), S.MAX_RESULTS)
    text = params.get("filter")
    if text is not None and not isinstance(text, str):
        raise bad("filter must be a string", "invalidFilter")
    if kind == "User":
        qs, shape = selectors.filter_users(token, text), services.USER_SHAPE
    else:
        qs, shape = selectors.filter_groups(token, text), services.GROUP_SHAPE
    sort_order = params.get("sortOrder")
    if sort_order not in (None, "") and str(sort_order).strip().lower() not in ("ascending", "descending"):
        raise bad("sortOrder must be ascending or descending")
    qs = selectors.sorted_by(qs, kind, params.get("sortBy"), sort_order)
    total = qs.count()
    page = list(qs[start - 1 : start - 1 + count]) if count else []
    base = _base_url(request)
    docs = selectors.users_json(token, page, base) if kind == "User" else selectors.groups_json(page, base, token)
    if kind == "User":
        # Users whose roles wait are listed after the others, as the client sent them (README).
        waiting = selectors.pending_docs(token, text, base)
        skip = max(0, start - 1 - total)
        docs += waiting[skip : skip + count - len(docs)] if count > len(docs) else []
        total += len(waiting)
    attributes, excluded = _names(params.get("attributes")), _names(params.get("excludedAttributes"))
    return _response({
        "schemas": [S.LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start,
        "itemsPerPage": len(docs),
        "Resources": [_select(d, shape, attributes, excluded) for d in docs],
    })


def _one(request, doc: dict, shape, status=200, headers=None) -> HttpResponse:
    attributes, excluded = _names(request.GET.get("attributes")), _names(request.GET.get("excludedAttributes"))
    version = doc.get("meta", {}).get("version")
    if version and request.method == "GET" and _etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), version):
        response = HttpResponse(status=304)
        response["ETag"] = version
        return response
    return _response(_select(doc, shape, attributes, excluded), status, {**({"ETag": version} if version else {}), **(headers or {})})


def _etags(header: str) -> list[str]:
    return [tag.strip() for tag in header.split(",") if tag.strip()]


def _etag_matches(header, version: str) -> bool:
    """Weak comparison (RFC 9110 §8.8.3.2): W/"x" and "x" name the same version."""
    if not header:
        return False
    bare = version.removeprefix("W/")
    return any(tag == "*" or tag.removeprefix("W/") == bare for tag in _etags(header))


def _check_if_match(request, doc: dict) -> None:
    """A PUT, PATCH or DELETE with If-Match changes only the version the client has seen (412 else)."""
    header = request.META.get("HTTP_IF_MATCH")
    if header and not _etag_matches(header, doc["meta"]["version"]):
        raise ScimError(412, "The resource has changed since that version (If-Match)")


# --- discovery ----------------------------------------------------------------------------------------
@scim_endpoint("GET")
def service_provider_config(request, token):
    return _response(services_config(request))


def services_config(request) -> dict:
    data = S.service_provider_config()
    data["meta"] = {**data["meta"], "location": _base_url(request) + "/ServiceProviderConfig"}
    return data


def _with_location(request, item: dict, kind: str, ident: str) -> dict:
    return {**item, "meta": {**item.get("meta", {}), "location": f"{_base_url(request)}/{kind}/{ident}"}}


def _listed(items) -> dict:
    return {"schemas": [S.LIST_RESPONSE], "totalResults": len(items), "startIndex": 1, "itemsPerPage": len(items), "Resources": items}


@scim_endpoint("GET")
def resource_types(request, token):
    return _response(_listed([_with_location(request, rt, "ResourceTypes", rt["id"]) for rt in S.RESOURCE_TYPES]))


@scim_endpoint("GET")
def resource_type(request, token, rid):
    for rt in S.RESOURCE_TYPES:
        if rt["id"].lower() == rid.lower():
            return _response(_with_location(request, rt, "ResourceTypes", rt["id"]))
    raise not_found("No such resource type")


@scim_endpoint("GET")
def schemas(request, token):
    scoped = bool(token.org_unit_id)
    return _response(_listed([_with_location(request, S.for_client(s, scoped), "Schemas", s["id"]) for s in S.all_schemas()]))


@scim_endpoint("GET")
def schema(request, token, sid):
    found = S.schema_by_id(sid)
    if found is None:
        raise not_found("No such schema")
    return _response(_with_location(request, S.for_client(found, bool(token.org_unit_id)), "Schemas", found["id"]))


# --- Users --------------------------------------------------------------------------------------------
def _user_doc(request, token, account) -> dict:
    if isinstance(account, services.PendingUser):
        return selectors.pending_json(account.roles, _base_url(request))
    return selectors.users_json(token, [account], _base_url(request))[0]


@scim_endpoint("GET", "POST")
def users(request, token):
    if request.method == "GET":
        return _list(request, token, request.GET, "User")
    account = services.create_user(token, _body(request), request=request)
    doc = _user_doc(request, token, account)
    return _one(request, doc, services.USER_SHAPE, 201, {"Location": doc["meta"]["location"]})


@scim_endpoint("POST")
def users_search(request, token):
    return _list(request, token, _body(request), "User")


def _pending_user(request, token, rid):
    """A User whose roles wait answers like any other (README, "A person in two units")."""
    pendings = selectors.pending_by_id(token, rid)
    if not pendings:
        raise not_found("No such User")
    found = services.PendingUser(pendings[0].account, pendings)
    if request.method == "DELETE":
        services.delete_pending(token, found, request=request)
        return HttpResponse(status=204)
    if request.method == "PUT":
        found = services.replace_pending(token, found, _body(request), request=request)
    elif request.method == "PATCH":
        found = services.patch_pending(token, found, _body(request), base_url=_base_url(request), request=request)
    if not found.roles:
        account = selectors.user_by_id(token, found.account.user_code)
        if account is None:
            raise not_found("No such User")
        return _one(request, _user_doc(request, token, account), services.USER_SHAPE)
    return _one(request, _user_doc(request, token, found), services.USER_SHAPE)


@scim_endpoint("GET", "PUT", "PATCH", "DELETE")
def user(request, token, rid):
    account = selectors.user_by_id(token, rid)
    if account is None:
        return _pending_user(request, token, rid)
    if request.method != "GET" and request.META.get("HTTP_IF_MATCH"):
        _check_if_match(request, _user_doc(request, token, account))
    if request.method == "DELETE":
        services.delete_user(token, account, request=request)
        return HttpResponse(status=204)
    if request.method == "PUT":
        account = services.replace_user(token, account, _body(request), request=request)
    elif request.method == "PATCH":
        account = services.patch_user(token, account, _body(request), base_url=_base_url(request), request=request)
    account = selectors.user_by_id(token, account.user_code)
    if account is None:  # the change left no role in this client's scope
        raise not_found("No such User")
    return _one(request, _user_doc(request, token, account), services.USER_SHAPE)


# --- Groups -------------------------------------------------------------------------------------------
def _group_doc(request, unit, token=None) -> dict:
    return selectors.groups_json([unit], _base_url(request), token)[0]


@scim_endpoint("GET", "POST")
def groups(request, token):
    if request.method == "GET":
        return _list(request, token, request.GET, "Group")
    unit = services.create_group(token, _body(request), request=request)
    doc = _group_doc(request, selectors.group_by_id(token, str(unit.pk)), token)
    return _one(request, doc, services.GROUP_SHAPE, 201, {"Location": doc["meta"]["location"]})


@scim_endpoint("POST")
def groups_search(request, token):
    return _list(request, token, _body(request), "Group")


@scim_endpoint("GET", "PUT", "PATCH", "DELETE")
def group(request, token, rid):
    unit = selectors.group_by_id(token, rid)
    if unit is None:
        raise not_found("No such Group")
    if request.method != "GET" and request.META.get("HTTP_IF_MATCH"):
        _check_if_match(request, _group_doc(request, unit))
    if request.method == "DELETE":
        services.delete_group(token, unit, request=request)
        return HttpResponse(status=204)
    if request.method == "PUT":
        services.replace_group(token, unit, _body(request), request=request)
    elif request.method == "PATCH":
        services.patch_group(token, unit, _body(request), base_url=_base_url(request), request=request)
    return _one(request, _group_doc(request, selectors.group_by_id(token, rid), token), services.GROUP_SHAPE)


# --- the rest -----------------------------------------------------------------------------------------
@scim_endpoint("POST")
def root_search(request, token):
    raise ScimError(501, "Searching several resource types at once is not supported; use /Users/.search or /Groups/.search")


@scim_endpoint("GET", "POST", "PUT", "PATCH", "DELETE")
def unknown(request, token, rest=""):
    raise not_found("No such endpoint")


@scim_endpoint("GET", "POST", "PUT", "PATCH", "DELETE")
def bulk(request, token):
    raise ScimError(501, "Bulk operations are not supported")
