"""Base handlers: HTML pages render errors through a template, API handlers answer one JSON shape."""

from __future__ import annotations

import contextlib
import json
import logging
import re
import secrets
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

import tornado.escape
import tornado.httputil
import tornado.iostream
import tornado.locale
import tornado.web

from app import metrics
from app.config import Settings
from app.db import UNAVAILABLE, Database
from app.logs import request_id_var
from app.services import Services

access_log = logging.getLogger("secondlayer.access")
log = logging.getLogger("secondlayer")
tornado_log = logging.getLogger("tornado.general")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._\-]{8,64}$")
LANGUAGES = {"uk": "uk_UA", "en": "en_US"}

# Pages render only our own static files; nothing may frame them.
PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
API_CSP = "default-src 'none'; frame-ancestors 'none'"


# Where a value shown on a page may break across lines. A URL breaks by the Chicago Manual's rule: after "//",
# "_", "-", "=", "&", before ".", "/", "?", "#", but not inside its host and port ("127.0.0.1:8109" stays whole).
# Anything else (a host, an email, an id, an audit target) breaks only before a dot or an "@" and after a "kind:"
# prefix, never inside a token: client ids and keys are random letters, digits, "_" and "-", no place to break.
# Pages show a bare host in an inline block, so it moves to the next line whole rather than breaking at a dot.
_URL_BREAK_BEFORE = frozenset("./?#")
_URL_BREAK_AFTER = frozenset("_-=&")


def breakable(text: str) -> str:
    """`text` escaped for HTML, with <wbr> at the points where it may break; templates insert it with {% raw %}."""
    url = "://" in text or text.startswith("/")
    host_start = text.find("://") + 3 if "://" in text else 0
    host_end = text.find("/", host_start) if host_start else 0
    host = range(host_start, len(text) if host_end == -1 else host_end)
    out: list[str] = []
    for i, ch in enumerate(text):
        previous, following = text[i - 1] if i else "", text[i + 1 : i + 2]
        if url and i in host:
            out.append(tornado.escape.xhtml_escape(ch))
            continue
        if i and ((ch in _URL_BREAK_BEFORE and previous not in ":/") if url else ch in ".@"):
            out.append("<wbr>")
        out.append(tornado.escape.xhtml_escape(ch))
        if url and (ch in _URL_BREAK_AFTER or (ch == "/" and previous == "/")):
            out.append("<wbr>")
        elif not url and ch == ":" and following and not following.isdigit():
            out.append("<wbr>")
    return "".join(out)


class _HttpDate:
    """The Date header's value (RFC 9110 5.6.7), formatted once per second rather than on every response."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._text = second, tornado.httputil.format_timestamp(second)
        return self._text


_http_date = _HttpDate()

# json.dumps(payload, ensure_ascii=False, default=str) without building a JSONEncoder on every answer.
_encode_json = json.JSONEncoder(ensure_ascii=False, default=str).encode


@dataclass(frozen=True)
class ErrorText:
    """What an error page says to a person, in English (translated when shown): what happened, then what to do."""

    title: str
    happened: str
    advice: str


# By status; any other 4xx reads as 400, any other 5xx as 500. The status, the technical message and the
# request id follow below these sentences on the page.
ERROR_TEXTS = {
    400: ErrorText(
        "This request could not be used",
        "Something in the address or in the form was missing or not valid.",
        "Go back, check what you entered and try again.",
    ),
    403: ErrorText(
        "You cannot open this page",
        "This page is not open to you, or the form you sent has expired.",
        "Go back, reload the page and try again. If you need access, ask your administrator.",
    ),
    404: ErrorText(
        "Page not found",
        "There is nothing at this address: it may be mistyped, or what it showed no longer exists.",
        "Check the address, or start again from the home page.",
    ),
    405: ErrorText(
        "This address does not accept that request",
        "The page was asked to do something it does not do.",
        "Go back and use the page's own buttons and links.",
    ),
    413: ErrorText(
        "What you sent is too large",
        "The server refused the request because its body was too large.",
        "Send less at once and try again.",
    ),
    429: ErrorText(
        "Too many requests", "Too many requests came from your address in a short time.", "Wait a minute and try again."
    ),
    500: ErrorText(
        "Something went wrong on our side",
        "The server could not finish your request. Nothing you did caused this.",
        "Try again in a moment. If it keeps happening, give your administrator the request id below.",
    ),
    503: ErrorText(
        "SecondLayer is temporarily unavailable",
        "The server cannot reach its database right now.",
        "Try again in a few minutes. If it keeps happening, tell your administrator.",
    ),
}


def error_text(status: int) -> ErrorText:
    """The sentences of the error page for `status`."""
    return ERROR_TEXTS.get(status) or ERROR_TEXTS[500 if status >= 500 else 400]


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


class ApiError(tornado.web.HTTPError):
    """An error an API client should see: status, a machine code and a message a person can act on, and
    `field` when one argument is at fault."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None, *, field: str | None = None
    ) -> None:
        super().__init__(status, reason=_phrase(status))
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.field = field


# The labelled series of http_request_duration met so far, by histogram, handler class, method and status
# (labels() takes a lock and builds its key on every call); as bounded as the metric's own label values.
_request_series: dict[tuple[Any, type, str | None, int], Any] = {}


class BaseHandler(tornado.web.RequestHandler):
    """Common to every handler: request id, security headers, access log, in-flight accounting."""

    content_security_policy = PAGE_CSP

    @property
    def services(self) -> Services:
        services = self.settings["services"]
        assert isinstance(services, Services)
        return services

    @property
    def config(self) -> Settings:
        return self.services.config

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def request_id(self) -> str:
        return self._request_id

    def initialize(self, **kwargs: Any) -> None:
        self._started = time.monotonic()
        offered = self.request.headers.get("X-Request-Id", "")
        self._request_id = offered if _REQUEST_ID.match(offered) else secrets.token_hex(8)
        request_id_var.set(self._request_id)
        self._counted = False

    def clear(self) -> None:
        """Tornado's reset of the response (a fresh one, or before an error page), with the Date of this second
        formatted once per second and no Server header: the version of what serves us is nobody's business."""
        self._headers = tornado.httputil.HTTPHeaders(
            {"Content-Type": "text/html; charset=UTF-8", "Date": _http_date.now()}
        )
        self.set_default_headers()
        self._write_buffer = []
        self._status_code = 200
        self._reason = HTTPStatus.OK.phrase

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Content-Security-Policy", self.content_security_policy)
        self.set_header("X-Frame-Options", "DENY")
        request_id = getattr(self, "_request_id", None)
        if request_id:  # set again after send_error() clears the headers
            self.set_header("X-Request-Id", request_id)
        if self.config.secure_cookies:
            self.set_header("Strict-Transport-Security", "max-age=31536000")

    async def prepare(self) -> None:
        self.set_header("X-Request-Id", self._request_id)
        request_id_var.set(self._request_id)
        self.services.inflight.enter()
        self._counted = True

    def allowed_methods(self) -> list[str]:
        """The methods this handler answers (RFC 9110 15.5.6: a 405 must list them in Allow)."""
        unimplemented = tornado.web.RequestHandler.get  # every verb a handler does not define is this one
        return [
            m
            for m in self.SUPPORTED_METHODS
            if getattr(type(self), m.lower(), unimplemented).__qualname__ != unimplemented.__qualname__
        ]

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> Any:
        if self.get_status() == 405:
            self.set_header("Allow", ", ".join(self.allowed_methods()))
        return super().finish(chunk)

    def on_finish(self) -> None:
        self._leave()
        # The one place HTTP requests are counted: the route as registered (bounded), never the raw path.
        histogram = metrics.http_request_duration  # the module's own, which a reload of it replaces
        key = (histogram, type(self), self.request.method, self.get_status())
        series = _request_series.get(key)
        if series is None:
            route = self.application.settings.get("metric_routes", {}).get(type(self), "unmatched")
            series = _request_series[key] = histogram.labels(route, key[2], key[3])
        series.observe(time.monotonic() - self._started)

    def on_connection_close(self) -> None:
        self._leave()

    def _leave(self) -> None:
        if self._counted:
            self._counted = False
            self.services.inflight.leave()

    def log_request(self) -> None:
        """Our access log line: no query string, since queries can carry session ids and codes."""
        status = self.get_status()
        level = logging.INFO if status < 500 else logging.ERROR
        access_log.log(
            level,
            "%s %s %s",
            self.request.method,
            self.request.path,
            status,
            extra={
                "request_id": self._request_id,
                "method": self.request.method,
                "path": self.request.path,
                "status": status,
                "duration_ms": round((time.monotonic() - self._started) * 1000, 1),
                "ip": self.request.remote_ip,
            },
        )

    def get_user_locale(self) -> tornado.locale.Locale | None:
        chosen = self.get_cookie("lang")
        if chosen in LANGUAGES:
            return tornado.locale.get(LANGUAGES[chosen])
        return self._accept_language_locale()

    def _accept_language_locale(self) -> tornado.locale.Locale:
        """Accept-Language by quality; a bare "uk" (what most browsers send) means uk_UA."""
        ranked: list[tuple[float, str]] = []
        for part in self.request.headers.get("Accept-Language", "").split(","):
            lang, _, params = part.strip().partition(";")
            try:
                quality = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
            except ValueError:
                quality = 0.0
            primary = lang.strip().split("-")[0].lower()
            if primary in LANGUAGES and quality > 0:
                ranked.append((quality, LANGUAGES[primary]))
        ranked.sort(key=lambda item: -item[0])
        return tornado.locale.get(*[code for _, code in ranked]) if ranked else tornado.locale.get("en_US")

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, UNAVAILABLE):
            status_code = 503
            self.set_status(503)
        message = getattr(exc, "message", None) or getattr(exc, "log_message", None) or ""
        if status_code >= 500:
            message = ""
        self.render_error_page(status_code, error_text(status_code), message)

    def render_error_page(self, status: int, text: ErrorText, message: str = "", *, home_link: bool = True) -> None:
        """The error page: `text` in plain words, then the status, the technical `message` and the request id."""
        if self.get_status() != status:
            self.set_status(status)
        self.render(
            "error.html",
            status_code=status,
            reason=_phrase(status),
            text=text,
            message=message,
            request_id=self._request_id,
            home_link=home_link,
        )

    def get_template_namespace(self) -> dict[str, Any]:
        namespace = super().get_template_namespace()
        namespace.update(breakable=breakable)
        return namespace

    def _request_line(self) -> str:
        # Not Tornado's request summary, which carries the query string: it can hold session ids, codes, state.
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def send_error(self, status_code: int = 500, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if self._headers_written and isinstance(exc, tornado.iostream.StreamClosedError):
            # The client left after the answer began: there is no one to tell, and log_exception said so at
            # info level (Tornado would log "Cannot send error response after headers written" as an error).
            if not self._finished:
                with contextlib.suppress(Exception):
                    self.finish()
            return
        super().send_error(status_code, **kwargs)

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, tornado.iostream.StreamClosedError):
            # The client went away mid-answer (an OSError, but no database trouble).
            log.info("client closed the connection on %s", self._request_line())
            return
        if isinstance(value, UNAVAILABLE):
            log.warning("database unavailable: %s", type(value).__name__)
            return
        if isinstance(value, tornado.web.HTTPError):
            # As Tornado logs them (a warning on tornado.general, no traceback), but with the path only.
            if value.log_message:
                message = value.log_message % value.args if value.args else value.log_message
                tornado_log.warning("%d %s: %s", value.status_code, self._request_line(), message)
            return
        # Not Tornado's default, which adds repr(request) and with it the full URI.
        log.error("uncaught exception on %s", self._request_line(), exc_info=(typ, value, tb))


class APIHandler(BaseHandler):
    """JSON in and out; errors are always {"error": {"code", "message"}} with a matching status."""

    content_security_policy = API_CSP

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def check_xsrf_cookie(self) -> None:
        # API clients authenticate with bearer credentials, never cookies, so CSRF does not apply.
        return None

    def write_json(self, payload: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(_encode_json(payload))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        field = None
        if isinstance(exc, ApiError):
            for name, value in exc.headers.items():
                self.set_header(name, value)
            code, message, field = exc.code, exc.message, exc.field
        elif isinstance(exc, UNAVAILABLE):
            status_code, code, message = 503, "unavailable", "The database is unavailable; try again shortly"
        elif isinstance(exc, tornado.web.HTTPError):
            phrase = _phrase(status_code)
            code = phrase.lower().replace(" ", "_")
            message = exc.log_message or phrase
            if status_code == 405:
                message = f"{self.request.method} is not allowed here"
        else:
            code, message = "internal_error", f"Internal error; quote request id {self._request_id} when reporting it"
        error = {"code": code, "message": message}
        if field is not None:
            error["field"] = field
        self.set_status(status_code)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        # `field` (and a message quoting it) echoes a key the caller sent, which may be a lone surrogate (legal as
        # a JSON escape, not encodable as UTF-8): backslashreplace writes it back as the same \udXXX escape.
        body = json.dumps({"error": error}, ensure_ascii=False)
        self.finish(body.encode("utf-8", "backslashreplace"))


class _QuickGzip(tornado.web.GZipContentEncoding):
    """Tornado's gzip at level 1 rather than 6: compression runs on the event loop, and a 50-result search answer
    (51 KB of JSON) takes 0.27 ms to 10 KB at level 1 against 1.25 ms to 7.7 KB at level 6 on the development
    machine: every other request waits for it, while the bytes saved by level 6 are few."""

    GZIP_LEVEL = 1


class GzipExceptEventStreams(tornado.web.OutputTransform):
    """Tornado's gzip for every response but event streams, which gzip would hold back in its buffer."""

    def __init__(self, request: tornado.httputil.HTTPServerRequest) -> None:
        self._gzip = _QuickGzip(request)
        self._streaming = False

    def transform_first_chunk(
        self, status_code: int, headers: tornado.httputil.HTTPHeaders, chunk: bytes, finishing: bool
    ) -> tuple[int, tornado.httputil.HTTPHeaders, bytes]:
        if headers.get("Content-Type", "").startswith("text/event-stream"):
            self._streaming = True
            return status_code, headers, chunk
        return self._gzip.transform_first_chunk(status_code, headers, chunk, finishing)

    def transform_chunk(self, chunk: bytes, finishing: bool) -> bytes:
        return chunk if self._streaming else self._gzip.transform_chunk(chunk, finishing)


class StaticHandler(tornado.web.StaticFileHandler):
    """Static files with the same security headers as every other response."""

    def set_default_headers(self) -> None:
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "no-referrer")
        self.set_header("Content-Security-Policy", API_CSP)
        self.set_header("X-Request-Id", secrets.token_hex(8))
        self.clear_header("Server")


class NotFoundHandler(BaseHandler):
    """Unknown paths: JSON for API-looking requests, the branded page for browsers."""

    async def prepare(self) -> None:
        self.set_header("X-Request-Id", self._request_id)
        accept = self.request.headers.get("Accept", "")
        if "text/html" not in accept or self.request.path.startswith(("/api/", "/oauth/", "/mcp", "/.well-known/")):
            self.set_status(404)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.set_header("Content-Security-Policy", API_CSP)
            self.finish(json.dumps({"error": {"code": "not_found", "message": f"No such path: {self.request.path}"}}))
            return
        raise tornado.web.HTTPError(404)

    def check_xsrf_cookie(self) -> None:
        return None
