"""The `{"error": …}` shape in the OpenAPI document: one named component (`Error`) on every 4xx and 503 response
of every operation, so generated clients and schema checks read errors as the API sends them (errors.py).

Names a generated client is built from: the operation id is the route function's name (`push_observations`, not
FastAPI's `push_observations_v1_observations_post`), and a request body written out in `openapi_extra` (the push,
parsed by hand) is a named component like every other model (`ObservationsPush`, `ObservationBody`).

And the key as the API asks for it: an operation that only reads says its key is optional (`security: [{}, …]`)
while reads are open (`SCORECARD_API__READ_REQUIRES_KEY=false`); one that needs a key says it is required."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from services.api.deps import OPTIONAL_BEARER

_REF = "#/components/schemas/{model}"
_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class ErrorInfo(BaseModel):
    code: str = Field(description="machine-readable: invalid_input, not_found, unauthorized, forbidden, conflict, "
                                  "payload_too_large, request_timeout, unsupported_media_type, busy, timeout, "
                                  "database_unavailable …")
    message: str = Field(description="what is wrong and what to do, for a person")
    details: list[Any] = Field(description="for bad input: one {row, field, message} per problem")


class Error(BaseModel):
    error: ErrorInfo


def operation_id(route: APIRoute) -> str:
    """FastAPI's generate_unique_id_function: the route function's name (unique: tests/api/test_openapi_client.py)."""
    return route.name


def _content() -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model="Error")}}}


def _document(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = Error.model_json_schema(ref_template=_REF)
    components.update(error_schema.pop("$defs", {}))
    components["Error"] = error_schema
    for path in schema.get("paths", {}).values():
        for method in _METHODS:
            operation = path.get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, response in responses.items():
                if status.startswith("4") or status == "503":
                    response["content"] = _content()
            responses.setdefault("422", {"description": "bad input: every problem listed in error.details"})
            responses["422"]["content"] = _content()
            responses.setdefault("4XX", {"description": "refused: see error.code and error.message"})
            responses["4XX"]["content"] = _content()
            responses["503"] = {
                "description": "the database is unavailable or busy; retry after Retry-After seconds",
                "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds"}},
                "content": _content(),
            }
    # FastAPI's own validation-error schemas describe a shape this API never sends.
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)


def _hoist(node: Any, components: dict[str, Any]) -> Any:
    """An inline object schema with a title → a $ref to a component of that name (its nested ones first)."""
    if isinstance(node, list):
        return [_hoist(n, components) for n in node]
    if not isinstance(node, dict) or "$ref" in node:
        return node
    node = {k: _hoist(v, components) if k in ("items", "anyOf", "oneOf", "allOf") else v for k, v in node.items()}
    if "properties" in node:
        node["properties"] = {k: _hoist(v, components) for k, v in node["properties"].items()}
    name = str(node.get("title", ""))
    if node.get("type") != "object" or not name.isidentifier() or components.get(name, node) != node:
        return node
    components[name] = node
    return {"$ref": _REF.format(model=name)}


def _name_bodies(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for path in schema.get("paths", {}).values():
        for method in _METHODS:
            body = (path.get(method) or {}).get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None and "schema" in body:
                body["schema"] = _hoist(body["schema"], components)


def _keys(schema: dict[str, Any], reads_open: bool) -> None:
    # deps.get_reader reads the header under its own scheme name; FastAPI would list it as required.
    for path in schema.get("paths", {}).values():
        for method in _METHODS:
            operation = path.get(method)
            if operation is None or "security" not in operation:
                continue
            names = {name for requirement in operation["security"] for name in requirement}
            required = bool(names - {OPTIONAL_BEARER}) or not reads_open
            operation["security"] = [{"HTTPBearer": []}] if required else [{}, {"HTTPBearer": []}]
    schemes = schema.get("components", {}).get("securitySchemes", {})
    optional = schemes.pop(OPTIONAL_BEARER, None)
    if optional is not None:
        schemes.setdefault("HTTPBearer", optional)


def install(app: FastAPI) -> None:
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build()
            _keys(document, reads_open=not app.state.settings.api.read_requires_key)
            _name_bodies(document)
            _document(document)
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
