"""The served OpenAPI document: FastAPI's, completed with what each operation really answers.

FastAPI lists only a 422 in its own validation-error shape. The server answers every failure
with one envelope (server/errors.py) and refuses for reasons FastAPI cannot see: the token,
body caps, rate limits, conflicts, a store that cannot write. After FastAPI has built the
document, `complete` gives each operation every status it can answer, with the envelope:
derived from the route where the route tells (its auth dependency, its body, its path
parameters, its method) and taken from the decorator (`responses=answers(...)`) where only
the code knows. It also declares the bearer security scheme on every authenticated operation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

from agentops_tui.server.context import admin, operator, viewer

ENVELOPE = "ErrorEnvelope"
SECURITY_SCHEME = "bearerAuth"
_ENVELOPE_REF = {"$ref": f"#/components/schemas/{ENVELOPE}"}
_FASTAPI_422 = "#/components/schemas/HTTPValidationError"
_ROLES = {id(viewer): "viewer", id(operator): "operator", id(admin): "admin"}
_WRITING_METHODS = {"post", "put", "patch", "delete"}

ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": ENVELOPE,
    "description": "Every failure: a stable `code`, a `message` naming the field or what is"
                   " wrong, and `details` (often null) with more.",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {"type": "string", "examples": ["invalid_request", "not_found"]},
                "message": {"type": "string"},
                "details": {"description": "field-level problems or context; may be null"},
            },
        }
    },
}

DESCRIPTIONS = {
    400: "The body is not valid JSON (`malformed_json`).",
    401: "No bearer token, or one that is unknown or revoked (`unauthorized`).",
    403: "The token's role is below the one this needs (`forbidden`).",
    404: "Nothing by that id in the token's workspace (`not_found`).",
    409: "The target's state does not allow this now (`conflict` and kin; `details` says"
         " which state).",
    408: "No part of the body arrived for the read timeout (`request_timeout`).",
    413: "The body is over its size limit (`too_large`).",
    422: "A parameter or field is invalid; `message` names it (`invalid_request` and kin).",
    429: "Too many failed authentications from this address, or too many expensive reads"
         " with this token; retry after `Retry-After` seconds (`too_many_requests`).",
    503: "The store cannot take the write right now; retry (`store_unavailable`).",
}

_RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before retrying.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    }
}


def answers(*statuses: int, **why: str) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route decorator: statuses the route answers that `complete` cannot
    derive from the route, e.g. `answers(409)`. `why` overrides a description, keyed `s503`."""
    return {s: {"description": why.get(f"s{s}", DESCRIPTIONS[s])} for s in statuses}


def _role(dependant: Dependant) -> str | None:
    """The least role the route's dependencies require, if it requires a token at all."""
    for dep in dependant.dependencies:
        found = _ROLES.get(id(dep.call)) or _role(dep)
        if found:
            return found
    return None


def _derived(route: Any, method: str, op: dict[str, Any]) -> dict[int, str]:
    """Statuses this operation can answer, as far as its route shows."""
    found: dict[int, str] = {}
    role = _role(route.dependant)
    params = op.get("parameters", [])
    body = op.get("requestBody")
    if role is not None:
        found[401] = DESCRIPTIONS[401]
        found[429] = DESCRIPTIONS[429]
        if role != "viewer":  # every token is at least a viewer
            found[403] = f"The token's role is below {role} (`forbidden`)."
    if body is not None:
        found[408] = DESCRIPTIONS[408]
        found[413] = DESCRIPTIONS[413]
        if "application/json" in body.get("content", {}):
            found[400] = DESCRIPTIONS[400]
    if any(p["in"] == "path" for p in params):
        found[404] = DESCRIPTIONS[404]
    if params or body is not None:
        found[422] = DESCRIPTIONS[422]
    if method in _WRITING_METHODS:
        found[503] = DESCRIPTIONS[503]
    return found


def _operations(spec: dict[str, Any], routes: list[BaseRoute]) -> Iterator[
        tuple[Any, str, dict[str, Any]]]:
    """Each operation of `spec` with its route as served (included routers resolved, so with
    their prefixes and dependencies)."""
    served = {
        (context.path_format, method.lower()): context
        for context in iter_route_contexts(routes)
        if isinstance(context.original_route, APIRoute)
        for method in context.methods or ()
    }
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            route = served.get((path, method))
            if route is not None:
                yield route, method, op


def _parameter_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A query or header value is text or absent, never JSON null: FastAPI's `anyOf [T, null]`
    for an optional parameter would have clients send `?name=` and expect it taken as absent."""
    options = schema.get("anyOf")
    if not options:
        return schema
    kept = [o for o in options if o.get("type") != "null"]
    if len(kept) == len(options):
        return schema
    rest = {k: v for k, v in schema.items() if k != "anyOf" and (k, v) != ("default", None)}
    return {**kept[0], **rest} if len(kept) == 1 else {**rest, "anyOf": kept}


def _complete_operation(route: Any, method: str, op: dict[str, Any]) -> None:
    for param in op.get("parameters", []):
        param["schema"] = _parameter_schema(param.get("schema", {}))
    responses: dict[str, Any] = op.setdefault("responses", {})
    for derived, description in _derived(route, method, op).items():
        responses.setdefault(str(derived), {"description": description})
    for status, response in responses.items():
        if not status.isdigit() or int(status) < 400:
            continue
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        if schema.get("$ref") == _FASTAPI_422:
            response["description"] = DESCRIPTIONS[422]
            response.pop("content")
        response.setdefault("content", {"application/json": {"schema": _ENVELOPE_REF}})
        if status == "429":
            response.setdefault("headers", _RETRY_AFTER)
    op["responses"] = dict(sorted(responses.items()))
    if _role(route.dependant) is not None:
        op["security"] = [{SECURITY_SCHEME: []}]


def complete(spec: dict[str, Any], routes: list[BaseRoute]) -> dict[str, Any]:
    """Add the error envelope, every answerable status and the security scheme to `spec`."""
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas[ENVELOPE] = ENVELOPE_SCHEMA
    for route, method, op in _operations(spec, routes):
        _complete_operation(route, method, op)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    components["securitySchemes"] = {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "A token from `agentops token create --role viewer|operator|admin`.",
        }
    }
    return spec
