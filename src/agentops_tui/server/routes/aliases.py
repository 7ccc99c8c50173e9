"""Serving an existing operation at a second path, as the same operation.

An alias is the original route's endpoint registered again under the other path, with the
same dependencies (auth, role, workspace), body and parameter models, statuses and response
model, so it cannot drift from the operation it stands for: there is no second handler.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter
from fastapi.routing import APIRoute


def alias_route(router: APIRouter, route: APIRoute, path: str, note: str) -> None:
    """Register `route`'s operation on `router` at `path`; `note` joins its description."""
    methods = sorted(route.methods or ())
    original = f"`{' '.join(methods)} {route.path}`"
    description = (route.description or "").strip()
    router.add_api_route(
        path,
        route.endpoint,
        methods=methods,
        response_model=route.response_model,
        status_code=route.status_code,
        dependencies=list(route.dependencies),
        summary=route.summary,
        description=f"{description}\n\n{note} Same operation as {original}.".strip(),
        response_description=route.response_description,
        responses=dict(route.responses),
        response_class=route.response_class,
        deprecated=route.deprecated,
        name=f"{route.name}_alias",
        openapi_extra=route.openapi_extra,
        include_in_schema=route.include_in_schema,
    )


def aliases_of(source: APIRouter, strip: str, tags: Iterable[str], note: str) -> APIRouter:
    """Every operation of `source` again at its path less the prefix `strip`."""
    router = APIRouter(tags=list(tags))
    for route in source.routes:
        if isinstance(route, APIRoute) and route.path.startswith(strip):
            alias_route(router, route, route.path.removeprefix(strip), note)
    return router
