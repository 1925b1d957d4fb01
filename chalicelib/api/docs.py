"""The API's own description: `GET /openapi.json` (generated from the routes) and `GET /docs`, a Swagger UI
reference page with "try it out". Its files are served from here, never from a CDN: the Swagger UI build
that aws-lambda-powertools (pinned in requirements.txt) ships for its own OpenAPI pages."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from chalice import Blueprint, Response

from chalicelib.api.http import endpoint
from chalicelib.api.operations import HTML

bp = Blueprint(__name__)

SWAGGER_UI = resources.files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
CACHED = "public, max-age=300"
JAVASCRIPT, CSS = "text/javascript", "text/css"
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Colony API reference</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
<div id="reference"></div>
<script src="docs/swagger-ui-bundle.js"></script>
<script>
SwaggerUIBundle({
  url: "openapi.json",
  dom_id: "#reference",
  deepLinking: true,
  docExpansion: "list",
  tryItOutEnabled: false,
  persistAuthorization: false,
  validatorUrl: "none",
});
</script>
</body>
</html>
"""


@endpoint(bp, "/openapi.json", public=True, responses={200: dict[str, Any]})
def openapi_document(call: Any) -> Response:
    """This API's OpenAPI 3.1 description, generated from its routes."""
    return Response(body=_document_text(), headers=_headers("application/json"))


@endpoint(bp, "/docs", public=True, responses={200: HTML, 308: None})
def docs_page(call: Any) -> Response:
    """The API reference for people: every operation, and "Try it out" with an API key (Authorize)."""
    if (call.request.context or {}).get("path", "").endswith("/"):  # its files are relative to /docs
        return Response(body="", status_code=308, headers={"Location": "../docs", "Cache-Control": CACHED})
    return Response(body=PAGE, headers=_headers("text/html; charset=utf-8"))


@endpoint(bp, "/docs/swagger-ui-bundle.js", public=True, responses={200: JAVASCRIPT})
def docs_script(call: Any) -> Response:
    """Swagger UI's script, served with the API."""
    return _asset("swagger-ui-bundle.min.js", JAVASCRIPT)


@endpoint(bp, "/docs/swagger-ui.css", public=True, responses={200: CSS})
def docs_style(call: Any) -> Response:
    """Swagger UI's style sheet, served with the API."""
    return _asset("swagger-ui.min.css", CSS)


@cache
def _document_text() -> str:
    from chalicelib.api.openapi import document  # built on the first ask, not at every cold start

    return json.dumps(document(), separators=(",", ":"))


def _asset(name: str, media_type: str) -> Response:
    text = (SWAGGER_UI / name).read_text(encoding="utf-8")
    return Response(body=text, headers=_headers(f"{media_type}; charset=utf-8"))


def _headers(content_type: str) -> dict[str, str]:
    return {"Content-Type": content_type, "Cache-Control": CACHED}
