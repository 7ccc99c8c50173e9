"""One error shape for every failure: `{"error": {"code", "message", "details"}}`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from agentops_tui.server import refusals
from agentops_tui.server.ingest.rest import format_loc
from agentops_tui.server.rate_limits import RateLimited
from agentops_tui.server.store.writer import Rejected, StoreUnavailable

log = logging.getLogger("agentops.server")


class ApiError(Rejected):
    """Raised by routes for a client error; same fields as a writer rejection."""


def error_response(
    status: int, code: str, message: str, details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 408: "request_timeout", 409: "conflict", 413: "too_large",
    415: "unsupported_media", 422: "invalid_request", 429: "too_many_requests", 503: "unavailable",
}


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method some route serves on `path`. The router's own 405 names only the first
    route matching the path, not those declared separately for the same path."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        if route.path and route.methods and compile_path(route.path)[0].match(path):
            methods |= route.methods
    return sorted(methods)


def _field(loc: tuple[Any, ...]) -> str:
    """What a validation error names: a parameter by its name alone (`status`, even for the
    second of repeated values), a body field by its path (`events[2].ts`)."""
    if len(loc) > 1 and loc[0] in ("query", "path", "header", "cookie"):
        return str(loc[1])
    return format_loc(tuple(p for p in loc if p != "body"))


def install(app: FastAPI) -> None:
    @app.exception_handler(Rejected)
    async def _rejected(request: Request, exc: Rejected) -> JSONResponse:
        headers = None
        if isinstance(exc, RateLimited):
            headers = {"Retry-After": str(exc.retry_after)}
        elif exc.status in (401, 403):  # refused at the token: the operation never ran
            await refusals.record(request, exc.status, exc.code, exc.message)
        return error_response(exc.status, exc.code, exc.message, exc.details, headers)

    @app.exception_handler(StoreUnavailable)
    async def _unavailable(request: Request, exc: StoreUnavailable) -> JSONResponse:
        return error_response(503, "store_unavailable", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            await refusals.record(request, 400, "malformed_json", "request body is not valid JSON")
            return error_response(400, "malformed_json", "request body is not valid JSON")
        details = [{"field": _field(tuple(e["loc"])), "message": e["msg"]} for e in errors]
        for d, e in zip(details, errors, strict=True):
            if tuple(e["loc"]) == ("body",):
                d["field"] = "body"
                d["message"] = (
                    "request body is required" if e.get("type") == "missing"
                    else "request body must be a JSON object"
                )
        first = details[0] if details else {"field": "", "message": "invalid request"}
        message = f"{first['field']}: {first['message']}" if first["field"] else first["message"]
        await refusals.record(request, 422, "invalid_request", message, details)
        return error_response(422, "invalid_request", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allowed = allowed_methods(request.app, request.url.path)
            headers["Allow"] = ", ".join(allowed)
            message = f"{request.method} is not allowed on {request.url.path}; use " + (
                " or ".join(allowed)
            )
        return error_response(exc.status_code, code, message, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_response(503, "internal", "the server hit an unexpected error; see its log")
