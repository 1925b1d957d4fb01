"""The web app for people, served by the API itself under `/app/` (same origin, so no CORS): static files
from `chalicelib/webapp/`, a page that only calls the public API with a person's session. Every answer
carries a strict Content-Security-Policy: scripts and styles from this origin only, never inline."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from chalice import Blueprint, Response

from chalicelib.api.http import endpoint
from chalicelib.api.operations import HTML
from chalicelib.domain.errors import NotFound
from chalicelib.settings import get_settings

bp = Blueprint(__name__)

FILES = resources.files("chalicelib") / "webapp"
JAVASCRIPT, CSS = "text/javascript", "text/css"
MEDIA_TYPES = {".html": HTML, ".js": JAVASCRIPT, ".css": CSS}
CACHED = "no-cache"  # revalidated on every load, so a deploy is seen at once


@endpoint(bp, "/app", public=True, responses={200: HTML, 308: None})
def app_page(call: Any) -> Response:
    """The web app's page; `/app` moves to `/app/`, which its files are relative to."""
    if not (call.request.context or {}).get("path", "").endswith("/"):
        return Response(body="", status_code=308, headers={"Location": "app/", "Cache-Control": CACHED})
    return _file("index.html")


@endpoint(bp, "/app/{asset}", public=True, responses={200: (JAVASCRIPT, CSS, HTML)})
def app_asset(call: Any, asset: str) -> Response:
    """One of the web app's scripts or style sheets (Chart.js among them, vendored: see `make vendor`)."""
    return _file(asset)


def _file(name: str) -> Response:
    if name not in _names():
        raise NotFound(f"The web app has no file {name}.")
    media_type = MEDIA_TYPES[name[name.rindex(".") :]]
    headers = {
        "Content-Type": f"{media_type}; charset=utf-8",
        "Cache-Control": CACHED,
        "Content-Security-Policy": content_security_policy(),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "X-Frame-Options": "DENY",
    }
    return Response(body=(FILES / name).read_text(encoding="utf-8"), headers=headers)


@cache
def _names() -> frozenset[str]:
    return frozenset(f.name for f in FILES.iterdir() if f.name[f.name.rfind(".") :] in MEDIA_TYPES)


@cache
def content_security_policy() -> str:
    """Only this origin's files; the one other place the page talks to is S3, for presigned uploads."""
    return "; ".join(
        (
            "default-src 'self'",
            f"connect-src 'self' {_upload_origin()}",
            "img-src 'self' data:",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )


def _upload_origin() -> str:
    settings = get_settings()
    if settings.aws_endpoint_url:
        parts = urlsplit(settings.aws_endpoint_url)
        return f"{parts.scheme}://{parts.netloc}"
    bucket = settings.bucket
    return f"https://{bucket}.s3.amazonaws.com https://{bucket}.s3.{settings.region}.amazonaws.com"
