"""Request bodies are limited before they are read: a body larger than its route allows is
refused on its declared length, or as soon as a chunked body passes the limit; an upload to the
county's administration pages from someone not signed in is refused before a byte of it is read.

Runs inside the session middleware (it reads the signed-in administrator from the session).
"""

from __future__ import annotations

import json

from server.divisions import MAX_DIVISION_BYTES
from sync.bundle import MAX_BUNDLE_BYTES
from sync.protocol import MAX_BATCH_BYTES

KB = 1024
#: (path prefix, largest body) — the first that matches; anything else: DEFAULT_LIMIT
ROUTE_LIMITS = (
    ("/admin/bundles", MAX_BUNDLE_BYTES),
    ("/admin/divisions/import", MAX_DIVISION_BYTES + 64 * KB),  # the file and its form
    ("/admin/", 64 * KB),
    ("/api/v1/sync/push", MAX_BATCH_BYTES),
    ("/api/v1/sync/check", MAX_BATCH_BYTES),
    ("/api/v1/blobs/", 50 * 1024 * KB),  # a posting photo (server.app.MAX_BLOB_BYTES)
    ("/v/", 32 * KB),  # a row check or an objection form
)
DEFAULT_LIMIT = 64 * KB
#: uploads only a signed-in administrator may send
ADMIN_UPLOADS = ("/admin/bundles", "/admin/divisions/import")


def limit_for(path: str) -> int:
    return next((limit for prefix, limit in ROUTE_LIMITS if path.startswith(prefix)), DEFAULT_LIMIT)


class BodyLimits:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        path, limit = scope["path"], limit_for(scope["path"])
        # (the signed cookie names a session; the route checks that the server still has it)
        if path.startswith(ADMIN_UPLOADS) and not scope.get("session", {}).get("sid"):
            await _answer(send, 303, "", location="/admin/login")
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _answer(send, 413, f"request body larger than {limit} bytes")
            return
        seen = 0
        started = refused = False

        async def limited_receive():
            # past the limit: the answer is given here, and the application sees the client gone
            nonlocal seen, started, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    refused = True
                    if not started:
                        started = True
                        await _answer(send, 413, f"request body larger than {limit} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message):
            nonlocal started
            if refused:
                return  # answered already
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except Exception:
            if not refused:
                raise  # the application's own failure; a refused body's aftermath is not one


async def _answer(send, status: int, error: str, location: str | None = None) -> None:
    body = json.dumps({"error": error}, ensure_ascii=False).encode() if error else b""
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if location:
        headers.append((b"location", location.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


#: on every answer; pages are plain HTML with inline styles, no scripts, no frames, no outside loads
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]
PAGE_POLICY = (b"default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; "
               b"frame-ancestors 'none'; base-uri 'none'")


class SecurityHeaders:
    """ASGI middleware adding :data:`SECURITY_HEADERS`, and the content policy to HTML pages."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _v in headers}
                headers += [h for h in SECURITY_HEADERS if h[0] not in present]
                if any(k.lower() == b"content-type" and v.startswith(b"text/html") for k, v in headers):
                    headers.append((b"content-security-policy", PAGE_POLICY))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
