"""The progress bar every import shows on stderr while it reads a large file."""

from __future__ import annotations

import sys
import time
from typing import IO


class Progress:
    """A progress bar with rate and ETA on a stream (stderr): redrawn in place on a terminal, else a line
    every few seconds, so logs of a long import show it moving."""

    def __init__(self, label: str, total_bytes: int, stream: IO[str] | None = None, width: int = 24) -> None:
        self.label = label
        self.total = max(total_bytes, 1)
        self.stream = stream if stream is not None else sys.stderr
        self.width = width
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.monotonic()
        self.last = self.started
        self.done = 0
        self.interval = 0.1 if self.tty else 5.0

    def update(self, done_bytes: int, lines: int) -> None:
        self.done = done_bytes
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._draw(lines, final=False)

    def finish(self, lines: int) -> None:
        self.done = self.total
        self._draw(lines, final=True)

    def _draw(self, lines: int, *, final: bool) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        fraction = min(self.done / self.total, 1.0)
        filled = int(fraction * self.width)
        rate = lines / elapsed
        if final:
            tail = f"done in {_clock(elapsed)}"
        elif fraction > 0:
            tail = f"ETA {_clock(elapsed * (1 - fraction) / fraction)}"
        else:
            tail = "ETA --:--"
        text = (
            f"{self.label} [{'#' * filled}{'-' * (self.width - filled)}] {fraction * 100:5.1f}%  "
            f"{lines:,} lines  {rate:,.0f} lines/s  {tail}"
        )
        if self.tty:
            self.stream.write("\r" + text + ("\n" if final else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
