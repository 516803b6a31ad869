"""The tool catalog as the REST API publishes it: the listing and an OpenAPI 3.1 document, from the registry."""

from __future__ import annotations

import copy
from typing import Any

from app.config import Settings, package_version
from app.tools.registry import Tool, ToolRegistry

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string", "description": "the argument at fault (422, and 404 for a missing record)"},
            },
        }
    },
}


def tool_listing(registry: ToolRegistry) -> list[dict[str, Any]]:
    """Each tool with the same fields MCP's tools/list uses."""
    return [
        {
            "name": tool.name,
            "title": tool.title,
            "description": tool.description,
            "inputSchema": tool.input_schema,
            "outputSchema": tool.output_schema,
            "annotations": tool.annotations,
        }
        for tool in registry
    ]


def _embedded(schema: dict[str, Any], base: str) -> dict[str, Any]:
    """A tool schema placed inside the OpenAPI document.

    A schema that refers to its own `$defs` gets an `$id`, so `#/$defs/...` resolves inside it (JSON Schema
    2020-12, which OpenAPI 3.1 uses) rather than against the whole document.
    """
    embedded = copy.deepcopy(schema)
    embedded.pop("$schema", None)
    if "$defs" in embedded or "definitions" in embedded:
        embedded.setdefault("$id", base)
    return embedded


def _error_response(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _operation(tool: Tool, settings: Settings) -> dict[str, Any]:
    base = f"{settings.public_url}/api/tools/{tool.name}"
    return {
        "operationId": tool.name,
        "summary": tool.title,
        "description": tool.description,
        "tags": ["tools"],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _embedded(tool.input_schema, f"{base}/input")}},
        },
        "responses": {
            "200": {
                "description": "The tool's structured result",
                "content": {"application/json": {"schema": _embedded(tool.output_schema, f"{base}/output")}},
            },
            "400": _error_response("The body is not valid JSON"),
            "401": _error_response("No or bad credentials"),
            "403": _error_response("The credential lacks the mcp scope"),
            "404": _error_response("No such tool, or the arguments name a record that does not exist"),
            "413": _error_response("The body is larger than MAX_BODY_BYTES"),
            "415": _error_response("The body is not sent as application/json"),
            "422": _error_response("The arguments do not satisfy the input schema; `field` names the culprit"),
        },
        "x-mcp-annotations": tool.annotations,
    }


def openapi_document(registry: ToolRegistry, settings: Settings) -> dict[str, Any]:
    """OpenAPI 3.1 for /api/tools, generated from the registry so it cannot drift from what is served."""
    paths: dict[str, Any] = {
        "/api/tools": {
            "get": {
                "operationId": "list_tools",
                "summary": "List the tools with their input and output schemas",
                "tags": ["tools"],
                "responses": {
                    "200": {
                        "description": "The tools",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["tools"],
                                    "properties": {"tools": {"type": "array", "items": {"type": "object"}}},
                                }
                            }
                        },
                    },
                    "401": _error_response("No or bad credentials"),
                },
            }
        }
    }
    for tool in registry:
        paths[f"/api/tools/{tool.name}"] = {"post": _operation(tool, settings)}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "SecondLayer tools",
            "version": package_version(),
            "description": "The tools the SecondLayer MCP server serves, over plain HTTP. Authenticate with an "
            "API key (sl_...) or an OAuth access token as a Bearer token.",
        },
        "servers": [{"url": settings.public_url}],
        "security": [{"bearer": []}],
        "tags": [{"name": "tools", "description": "The tool registry"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API key (sl_...) or an OAuth access token (mcp_token_...)",
                },
            },
            "schemas": {"Error": ERROR_SCHEMA},
        },
    }
