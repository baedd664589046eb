"""The county server's web application (FastAPI): the sync API for township workstations.

Start it with ``python main.py serve --db URL --host H --port P``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import zlib
from datetime import UTC
from typing import Any

import peewee
import psycopg
from fastapi import FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from playhouse.pool import MaxConnectionsExceeded
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from app.context import Clock
from server import sync_service as svc
from server.db import database
from sync.protocol import (
    COUNTY_TIME_HEADER,
    MAX_BATCH_BYTES,
    MAX_INFLATED_BYTES,
    MAX_PULL_LIMIT,
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
)

_PUBLIC_KEY = "^[0-9a-f]{64}$"


class EnrollRequest(BaseModel):
    code: str = Field(min_length=4, max_length=40)
    device_name: str = Field(min_length=1, max_length=100)
    # the public half of the Ed25519 key the workstation made to sign its USB bundles (hex)
    bundle_public_key: str | None = Field(default=None, pattern=_PUBLIC_KEY)


class EnrollResponse(BaseModel):
    device_id: str
    token: str
    township_id: str
    epoch: str
    protocol: int
    # the county's public key (hex): the workstation accepts USB replies signed with it only
    county_bundle_key: str


class BundleKeyRequest(BaseModel):
    bundle_public_key: str = Field(pattern=_PUBLIC_KEY)


class BundleKeyResponse(BaseModel):
    county_bundle_key: str


_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_BLOB_BYTES = 50 * 1024 * 1024


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _check_protocol(value: str | None) -> None:
    if value is None:
        raise svc.SyncError(426, f"missing {PROTOCOL_HEADER} header; this server speaks protocol {PROTOCOL_VERSION}")
    if value != str(PROTOCOL_VERSION):
        raise svc.SyncError(426, f"protocol {value[:10]} is not supported; this server speaks {PROTOCOL_VERSION}. "
                                 "Please update the workstation software.")


def _bearer(authorization: str | None) -> str | None:
    if authorization and authorization.startswith("Bearer "):
        return authorization[7:].strip()
    return None


async def _json_body(request: Request) -> Any:
    """The request body, gunzipped if sent so, within the size limits; malformed input is a 4xx."""
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BATCH_BYTES):
        raise svc.SyncError(413, f"request body larger than {MAX_BATCH_BYTES} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BATCH_BYTES:
            raise svc.SyncError(413, f"request body larger than {MAX_BATCH_BYTES} bytes")
    data = bytes(body)
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            data = inflater.decompress(data, MAX_INFLATED_BYTES + 1)
            if len(data) > MAX_INFLATED_BYTES or inflater.unconsumed_tail:
                raise svc.SyncError(413, "request body inflates beyond the limit")
            if not inflater.eof:
                raise svc.SyncError(400, "gzip body is truncated")
        except (zlib.error, gzip.BadGzipFile) as exc:
            raise svc.SyncError(400, "request body is not valid gzip") from exc
    try:
        return json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise svc.SyncError(400, "request body is not valid JSON") from exc
    except RecursionError as exc:  # nested deeper than any change is
        raise svc.SyncError(400, "request body is nested too deeply") from exc


def _json_response(text: str, accept_encoding: str | None) -> Response:
    """JSON, gzip-compressed when the client accepts it and it is worth it: township links can be
    tens of kbit/s, and a page of roster rows shrinks to about a quarter."""
    data = text.encode("utf-8")
    if len(data) > 1400 and "gzip" in (accept_encoding or "").lower():
        return Response(gzip.compress(data, compresslevel=5), media_type="application/json",
                        headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return Response(data, media_type="application/json")


# The headers of the two hot sync endpoints, read from ``request.headers`` rather than declared as
# Header() parameters (FastAPI's per-parameter handling costs more than the rest of a pull's
# request handling), documented in the OpenAPI schema as FastAPI would document them.
_SYNC_HEADERS = [{"name": name, "in": "header", "required": False,
                  "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": title}}
                 for name, title in (("authorization", "Authorization"), ("accept-encoding", "Accept-Encoding"),
                                     ("x-gongkai-protocol", "X-Gongkai-Protocol"))]


def _county_bundle_key() -> str:
    """The public half of the county's key that signs USB replies (made on first use)."""
    from server.db import bundle_key_file
    from server.keys import county_signing_key
    from sync.bundle import public_key_text

    return public_key_text(county_signing_key(bundle_key_file()))


def _in_db(fn, *args):
    """Run ``fn`` with a database connection of this thread, returned to the pool afterwards."""
    with database.connection_context():
        return fn(*args)


def create_app(*, clock: Clock, https_only: bool = False, session_secret: str | None = None,
               request_threads: int = 4, page_cache: int = 256) -> FastAPI:
    """The application over the already-opened server database (see server.db).

    ``clock`` is the county's clock, the same kind the township side uses: posting states, due
    dates, objection numbers, form-token age and enrolment-code expiry follow it (``serve`` passes
    the real one, tests a fixed one); only record stamps read the wall clock. ``https_only`` marks the admin cookie Secure; set it behind a TLS reverse
    proxy. ``page_cache``: how many notices' public pages each worker keeps rendered (0: none).
    """
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        # Few request threads per worker: database work queues on the sequence lock anyway, and
        # dozens of threads competing for the interpreter lock slow down the one holding it.
        import anyio.to_thread

        anyio.to_thread.current_default_thread_limiter().total_tokens = request_threads
        yield

    def _timed(response: Response) -> Response:
        """The county's time on a sync answer: the workstation learns how far its clock is off."""
        response.headers[COUNTY_TIME_HEADER] = clock.now().astimezone(UTC).isoformat()
        return response

    app = FastAPI(title="Gongkai county server", version=str(PROTOCOL_VERSION), lifespan=lifespan,
                  description="Sync API for township workstations and public verification pages.")
    app.state.clock = clock

    @app.exception_handler(svc.SyncError)
    async def _sync_error(_request: Request, exc: svc.SyncError) -> JSONResponse:
        response = _error(exc.status, exc.message)
        extra = getattr(exc, "extra", None)
        if extra:  # e.g. the new epoch after a restore
            response = JSONResponse({"error": exc.message, **extra}, status_code=exc.status)
        return response

    @app.exception_handler(peewee.OperationalError)
    @app.exception_handler(peewee.InterfaceError)
    @app.exception_handler(MaxConnectionsExceeded)
    @app.exception_handler(psycopg.OperationalError)  # what peewee leaves unwrapped, e.g. a deadlock
    async def _database_unavailable(_request: Request, _exc: Exception) -> JSONResponse:
        # the database is restarting or saturated: nothing was applied, the client retries later
        response = _error(503, "the county database is busy or restarting; nothing was applied, retry later")
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, f"invalid request: {where}: {first.get('msg', 'malformed')}")

    @app.post("/api/v1/enroll", response_model=EnrollResponse, tags=["sync"])
    def enroll(req: EnrollRequest, response: Response,
               x_gongkai_protocol: str | None = Header(default=None)) -> EnrollResponse:
        _check_protocol(x_gongkai_protocol)
        _timed(response)
        with database.connection_context():
            county_key = _county_bundle_key()  # before the code is used up: the answer needs it
            device, token = svc.enroll(req.code, req.device_name, clock.now(), req.bundle_public_key)
            return EnrollResponse(device_id=device.id, token=token, township_id=device.township_id,
                                  epoch=svc.meta("epoch"), protocol=PROTOCOL_VERSION, county_bundle_key=county_key)

    @app.post("/api/v1/sync/bundle-key", response_model=BundleKeyResponse, tags=["sync"])
    def bundle_key(req: BundleKeyRequest, authorization: str | None = Header(default=None),
                   x_gongkai_protocol: str | None = Header(default=None)) -> BundleKeyResponse:
        """A workstation enrolled before USB bundles were signed registers the public half of its
        new key (its HMAC bundles are refused from then on) and learns the county's."""
        _check_protocol(x_gongkai_protocol)
        with database.connection_context():
            svc.register_bundle_key(svc.authenticate(_bearer(authorization)), req.bundle_public_key)
        return BundleKeyResponse(county_bundle_key=_county_bundle_key())

    @app.post("/api/v1/sync/push", tags=["sync"], openapi_extra={"requestBody": {"required": True, "content": {
        "application/json": {"schema": {
            "type": "object", "required": ["protocol", "batch_id", "changes"],
            "properties": {
                "protocol": {"type": "integer"}, "device_id": {"type": "string"}, "batch_id": {"type": "string"},
                "changes": {"type": "array", "items": {"type": "object", "properties": {
                    "entity": {"type": "string"}, "id": {"type": "string"}, "version": {"type": "integer"},
                    "base_version": {"type": ["integer", "null"]}, "deleted": {"type": "boolean"},
                    "data": {"type": "object"}}}},
            }}}}}, "parameters": _SYNC_HEADERS})
    async def push(request: Request) -> Response:
        headers = request.headers
        _check_protocol(headers.get("x-gongkai-protocol"))
        # Refuse a bad token before reading the body. A token this worker found valid moments ago
        # skips the database here: svc.push checks it again in its own transaction.
        token = _bearer(headers.get("authorization"))
        device = svc.recently_authenticated(token) or await run_in_threadpool(_in_db, svc.authenticate, token)
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise svc.SyncError(422, "push body must be a JSON object")
        if body.get("protocol") != PROTOCOL_VERSION:
            raise svc.SyncError(426, "protocol field does not match this server")
        if body.get("device_id") not in (None, device.id):
            raise svc.SyncError(403, "device_id does not match the token")
        result = await run_in_threadpool(_in_db, svc.push, device, body, token, clock.now())
        # the receipt of a big batch (an id, version and sequence number per row) is worth
        # compressing too on a slow link
        return _timed(_json_response(svc.json_text(result), headers.get("accept-encoding")))

    @app.post("/api/v1/notices/{notice_id}/handover-request", tags=["sync"], status_code=202)
    def handover_request(notice_id: str = Path(..., min_length=1, max_length=64),
                         authorization: str | None = Header(default=None),
                         x_gongkai_protocol: str | None = Header(default=None)) -> dict:
        """This workstation asks the county for a notice another workstation handles."""
        _check_protocol(x_gongkai_protocol)
        with database.connection_context():
            svc.request_handover(svc.authenticate(_bearer(authorization)), notice_id)
        return {"requested": notice_id}

    @app.get("/api/v1/sync/pull", tags=["sync"], openapi_extra={"parameters": _SYNC_HEADERS})
    def pull(request: Request, since: int = Query(0, ge=0, le=2**62),
             limit: int = Query(500, ge=1, le=MAX_PULL_LIMIT),
             skip: str | None = Query(None, min_length=1, max_length=64, pattern="^[A-Za-z0-9]+$")) -> Response:
        """The changes after ``since``; ``skip``: the workstation's chain, whose own rows it has."""
        headers = request.headers
        _check_protocol(headers.get("x-gongkai-protocol"))
        with database.connection_context():
            text = svc.pull_json_for_token(_bearer(headers.get("authorization")), since, limit, skip, clock.now())
        return _timed(_json_response(text, headers.get("accept-encoding")))

    @app.post("/api/v1/sync/check", tags=["sync"])
    async def check(request: Request, authorization: str | None = Header(default=None),
                    accept_encoding: str | None = Header(default=None),
                    x_gongkai_protocol: str | None = Header(default=None)) -> Response:
        """Per-entity counts and digests of the township's rows (SYNC.md "Check after sync");
        body ``{exclude: [[entity, id]], detail: [entity], fields: {entity: [column]}}``."""
        _check_protocol(x_gongkai_protocol)
        device = await run_in_threadpool(_in_db, svc.authenticate, _bearer(authorization))
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise svc.SyncError(422, "check body must be a JSON object")
        result = await run_in_threadpool(_in_db, svc.check, device, body.get("exclude", []), body.get("detail", []),
                                         body.get("fields"))
        return _json_response(json.dumps(result), accept_encoding)

    @app.put("/api/v1/blobs/{sha256}", tags=["sync"], status_code=201)
    async def put_blob(sha256: str, request: Request, authorization: str | None = Header(default=None),
                       x_gongkai_protocol: str | None = Header(default=None)) -> dict:
        """Store a photo or archived PDF by its SHA-256; idempotent; the hash is checked."""
        _check_protocol(x_gongkai_protocol)
        if not _SHA256.fullmatch(sha256):
            raise svc.SyncError(422, "blob name must be 64 lowercase hex digits")
        await run_in_threadpool(_in_db, svc.authenticate, _bearer(authorization))
        data = bytearray()
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_BLOB_BYTES:
                raise svc.SyncError(413, f"blob larger than {MAX_BLOB_BYTES} bytes")
        if hashlib.sha256(data).hexdigest() != sha256:
            raise svc.SyncError(422, "content does not match its SHA-256")
        await run_in_threadpool(_in_db, svc.put_blob, sha256, bytes(data))
        return {"sha256": sha256, "size": len(data)}

    @app.get("/api/v1/blobs/{sha256}", tags=["sync"])
    def get_blob(sha256: str, authorization: str | None = Header(default=None),
                 x_gongkai_protocol: str | None = Header(default=None)) -> Response:
        _check_protocol(x_gongkai_protocol)
        if not _SHA256.fullmatch(sha256):
            raise svc.SyncError(422, "blob name must be 64 lowercase hex digits")
        with database.connection_context():
            device = svc.authenticate(_bearer(authorization))
            data = svc.get_blob(device, sha256)
        return Response(data, media_type="application/octet-stream")

    from starlette.middleware.sessions import SessionMiddleware

    from server.admin import create_admin_router
    from server.public import create_public_router, svc_secret

    app.include_router(create_public_router(clock, page_cache))
    app.include_router(create_admin_router(clock))
    # bodies limited before they are read (inside the session middleware: it needs the session)
    from server.limits import BodyLimits, SecurityHeaders

    app.add_middleware(BodyLimits)
    # signed session cookie for the county admin; HttpOnly, SameSite=strict, 8 hours
    app.add_middleware(SessionMiddleware, secret_key=session_secret or svc_secret(), session_cookie="gk_admin",
                       max_age=8 * 3600, same_site="strict", https_only=https_only)
    app.add_middleware(SecurityHeaders)

    @app.get("/api/v1/health", tags=["ops"])
    def health() -> dict:
        return {"ok": True, "protocol": PROTOCOL_VERSION}

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` with several worker processes: each worker opens the
    database named by ``GONGKAI_SERVER_DB`` itself (and the reply signing key file named by
    ``GONGKAI_BUNDLE_KEY``, see server.keys)."""
    import os

    from server.db import open_server_database

    open_server_database(os.environ["GONGKAI_SERVER_DB"], os.environ.get("GONGKAI_BUNDLE_KEY") or None)
    return create_app(clock=Clock(), https_only=os.environ.get("GONGKAI_HTTPS_ONLY") == "1",
                      request_threads=int(os.environ.get("GONGKAI_SERVER_THREADS", "4")),
                      page_cache=int(os.environ.get("GONGKAI_PAGE_CACHE", "256")))
