"""Structured logs: one JSON object per line on stdout, carrying the request id, never a secret."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
from typing import Any

from app.auth.secrets import CREDENTIAL_PREFIXES

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")

# Anything that looks like one of our credentials is masked, whatever logged it (longest prefix tried first).
_PREFIXES = "|".join(re.escape(p) for p in sorted(CREDENTIAL_PREFIXES, key=len, reverse=True))
_SECRET = re.compile(rf"({_PREFIXES})[A-Za-z0-9_\-]{{8,}}")


def redact(text: str) -> str:
    return _SECRET.sub(lambda m: m.group(1) + "***", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
            "msg": redact(record.getMessage()),
        }
        for key in ("method", "path", "status", "duration_ms", "ip", "user_agent"):
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False)


def setup_logging(level: str = "info") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Tornado's access log is replaced by our own, which leaves query strings out.
    logging.getLogger("tornado.access").setLevel(logging.WARNING)
    for noisy in ("apscheduler", "alembic", "httpx", "httpcore", "httpx2", "pgserver"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
