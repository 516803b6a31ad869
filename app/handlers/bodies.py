"""Request bodies read under limits: a size cap answered with a clean 413, and a deadline for slow senders.

Framework for every API handler that takes a body (the tools API, MCP, the OAuth endpoints); no routes here.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import tornado.httputil
import tornado.web

from app.handlers.base import ApiError, APIHandler
from app.handlers.deadlines import Deadlines

# Bodies up to this multiple of MAX_BODY_BYTES are read and dropped so the client gets a clean 413;
# anything bigger is refused at once and the connection closed.
DRAIN_FACTOR = 16
# Seconds a request body may take to arrive in full. Tornado's default is no limit, so a client trickling a
# byte at a time (slowloris) would hold its connection and handler open for ever.
BODY_TIMEOUT = 60.0
BODY_DEADLINES = "request bodies"
log = logging.getLogger("secondlayer")


def _after_refusal_check(verb: Callable[..., Any]) -> Callable[..., Awaitable[None]]:
    @functools.wraps(verb)
    async def run(self: BoundedBodyHandler, *args: Any, **kwargs: Any) -> None:
        Deadlines.named(BODY_DEADLINES).discard(self)  # the body is in: Tornado runs the verb only then
        if self._refusal is not None:
            raise self._refusal
        result = verb(self, *args, **kwargs)
        if inspect.isawaitable(result):
            await result

    return run


@tornado.web.stream_request_body
class BoundedBodyHandler(APIHandler):
    """An API handler that reads its body itself, so an oversized one gets 413 rather than a reset.

    `admit()` (auth, origin) runs in prepare(), but a refusal is raised only once the body has been read:
    Tornado closes a connection answered before its body, and a client then meets a reset on its next request.
    Every HTTP verb a subclass defines is wrapped to raise that refusal first, so none can forget it.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for verb in ("get", "post", "put", "patch", "delete", "options"):
            if verb in cls.__dict__:
                setattr(cls, verb, _after_refusal_check(cls.__dict__[verb]))

    def initialize(self, **kwargs: Any) -> None:
        super().initialize(**kwargs)
        self._chunks: list[bytes] = []
        self._received = 0
        self._too_large = False
        self._refusal: ApiError | None = None
        self._body_awaited = False

    async def prepare(self) -> None:
        await super().prepare()
        self.limit_body()
        try:
            await self.admit()
        except ApiError as exc:
            self._refusal = exc
        self._body_awaited = True  # prepare() is done: Tornado now reads the whole body before any answer

    async def admit(self) -> None:
        """Checks on the request line and headers (auth, origin); raise ApiError to refuse."""

    def set_default_headers(self) -> None:
        super().set_default_headers()
        # send_error() resets the headers to these defaults before any subclass writes its error shape: a
        # request refused before its body was awaited has its connection closed after the answer, so say so.
        if not getattr(self, "_body_awaited", True):
            self.set_header("Connection", "close")

    def limit_body(self) -> None:
        """Call from prepare(): refuse a declared length far past the limit, drain anything up to that, and
        give the body BODY_TIMEOUT seconds to arrive."""
        limit = self.config.max_body_bytes
        declared = self.request.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit * DRAIN_FACTOR:
            raise ApiError(413, "payload_too_large", f"The body is larger than {limit} bytes")
        self._too_large = declared.isdigit() and int(declared) > limit
        # Tornado types request.connection as the optional, abstract HTTPConnection; under its HTTPServer it is
        # always an HTTP1Connection, which has these two setters.
        self.request.connection.set_max_body_size(limit * DRAIN_FACTOR)  # type: ignore[union-attr]
        # The body's deadline is kept with every other request's under one timer (app/handlers/deadlines.py) rather
        # than by Tornado's timeout of its own per request; an overdue body loses its connection all the same.
        self.request.connection.set_body_timeout(None)  # type: ignore[union-attr]
        Deadlines.named(BODY_DEADLINES).add(self, BODY_TIMEOUT, self._body_overdue, BODY_TIMEOUT / 4)

    def _body_overdue(self) -> None:
        """BODY_TIMEOUT has passed and the body is not in: close the connection, as Tornado's own timeout does."""
        log.info("a request body did not arrive within %g s, connection closed: %s", BODY_TIMEOUT, self._request_line())
        self.request.connection.close()  # type: ignore[union-attr]

    def on_finish(self) -> None:
        Deadlines.named(BODY_DEADLINES).discard(self)
        super().on_finish()

    def on_connection_close(self) -> None:
        Deadlines.named(BODY_DEADLINES).discard(self)
        super().on_connection_close()

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.config.max_body_bytes:
            self._too_large = True
            self._chunks = []
        elif not self._too_large:
            self._chunks.append(chunk)

    def body(self) -> bytes:
        """The whole body; ApiError 413 when it was over MAX_BODY_BYTES."""
        if self._too_large:
            raise ApiError(413, "payload_too_large", f"The body is larger than {self.config.max_body_bytes} bytes")
        return b"".join(self._chunks)

    def json_body(self) -> Any:
        """The request body parsed as JSON; 415 when it is not JSON, 400 when it does not parse."""
        ctype = self.request.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if ctype != "application/json" and not ctype.endswith("+json"):
            raise ApiError(415, "unsupported_media_type", "Send the body as JSON with Content-Type: application/json")
        try:
            return json.loads(self.body() or b"null")
        except RecursionError:
            raise ApiError(400, "invalid_json", "The body is not valid JSON: it is nested too deeply") from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None

    def form_arguments(self) -> dict[str, list[bytes]]:
        """The body parsed as application/x-www-form-urlencoded (name -> values)."""
        arguments: dict[str, list[bytes]] = {}
        tornado.httputil.parse_body_arguments("application/x-www-form-urlencoded", self.body(), arguments, {})
        return arguments
