"""Downloading the publishers' files: streamed to disk, resumable, and skipped when unchanged.

Official dumps are several GB, so a download streams into `NAME.part` and is renamed when complete; a
`.part` left by an interrupted run is resumed with `Range`. `If-None-Match`/`If-Modified-Since` with the
validators of the last import make an unchanged publication a 304. The publishers serve plain http as well as
https (decision texts live on http://od.reyestr.court.gov.ua), so both are accepted; these URLs come from the
operator's command line or settings, never from a client (auth/public_fetch.py guards client-supplied URLs).

`SourceTree` reads a publisher's tree of files the same way from a base URL or a local mirror directory.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import posixpath
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urljoin, urlsplit

from tornado.httpclient import HTTPClientError, HTTPRequest
from tornado.simple_httpclient import SimpleAsyncHTTPClient

from app.config import Settings

CONNECT_TIMEOUT = 30.0
REQUEST_TIMEOUT = 6 * 3600.0  # a multi-GB dump over a slow link
SMALL_TIMEOUT = 60.0
MAX_DOWNLOAD_BYTES = 1 << 40
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
USER_AGENT = "SecondLayer open-data import"


class DownloadError(Exception):
    """The file could not be fetched; the message says why in one line (`status`: the HTTP status, if any)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Downloaded:
    path: Path
    etag: str | None
    last_modified: str | None
    not_modified: bool
    size: int


def is_url(spec: str) -> bool:
    return urlsplit(spec).scheme in ("http", "https")


def _check_url(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DownloadError(f"not an http(s) URL: {url}")


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else 0


def _is_file(path: Path) -> bool:
    return path.is_file()


def downloads_dir(settings: Settings) -> Path:
    return settings.data_dir / "downloads"


def cache_path(cache_dir: Path, url: str) -> Path:
    """Where a URL's file is kept: its own directory (named by the URL's hash), the URL's file name."""
    name = posixpath.basename(urlsplit(url).path) or "index"
    return cache_dir / hashlib.sha256(url.encode()).hexdigest()[:16] / name


def _client(max_body: int) -> SimpleAsyncHTTPClient:
    return SimpleAsyncHTTPClient(force_instance=True, max_body_size=max_body, max_buffer_size=16 * 1024 * 1024)


class _Bar:
    """A progress line on stderr: bytes, percentage and rate, redrawn at most twice a second."""

    def __init__(self, stream: IO[str] | None, label: str) -> None:
        self.stream = stream
        self.label = label
        self.total: int | None = None
        self.done = 0
        self.started = time.monotonic()
        self.shown = 0.0

    def add(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if self.stream is not None and now - self.shown >= 0.5:
            self.shown = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        assert self.stream is not None
        rate = self.done / max(now - self.started, 1e-6) / 1e6
        share = f" {100 * self.done / self.total:5.1f}%" if self.total else ""
        self.stream.write(f"\r{self.label}: {self.done / 1e6:,.1f} MB{share} {rate:,.1f} MB/s")
        self.stream.flush()

    def finish(self) -> None:
        if self.stream is not None and self.done:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()


def _header_value(lines: list[str], name: str) -> str | None:
    prefix = name.lower() + ":"
    value = None
    for line in lines:
        if line.lower().startswith(prefix):
            value = line[len(prefix) :].strip()
    return value


async def download(
    url: str,
    dest: Path,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    headers: dict[str, str] | None = None,
    progress: IO[str] | None = None,
) -> Downloaded:
    """Fetch `url` into `dest` (through `dest.part`, resuming it); `not_modified` when the validators match."""
    _check_url(url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    resume_from = _size(part)
    request_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **(headers or {})}
    if resume_from:
        request_headers["Range"] = f"bytes={resume_from}-"
    elif _is_file(dest):
        # Validators only make sense while the file they describe is still here.
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
    status: list[int] = []
    response_headers: list[str] = []
    bar = _Bar(progress, posixpath.basename(urlsplit(url).path) or url)
    sink: list[IO[bytes]] = []

    def on_header(line: str) -> None:
        if line.startswith("HTTP/"):
            status[:] = [int(line.split()[1])]
            response_headers.clear()
        else:
            response_headers.append(line.rstrip("\r\n"))

    def on_chunk(chunk: bytes) -> None:
        if not sink:
            code = status[0] if status else 0
            if code not in (200, 206):
                return  # an error page or a 304: nothing to keep
            if code == 206:
                bar.done = resume_from
                sink.append(open(part, "ab"))  # closed after the fetch
            else:
                sink.append(open(part, "wb"))  # closed after the fetch
            length = _header_value(response_headers, "Content-Length")
            if length and length.isdigit():
                bar.total = int(length) + (resume_from if code == 206 else 0)
        sink[0].write(chunk)
        bar.add(len(chunk))

    request = HTTPRequest(
        url,
        headers=request_headers,
        connect_timeout=CONNECT_TIMEOUT,
        request_timeout=REQUEST_TIMEOUT,
        header_callback=on_header,
        streaming_callback=on_chunk,
        follow_redirects=True,
        max_redirects=5,
        decompress_response=False,
    )
    client = _client(MAX_DOWNLOAD_BYTES)
    try:
        response = await client.fetch(request, raise_error=False)
    except (OSError, HTTPClientError) as exc:
        raise DownloadError(f"cannot download {url}: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    finally:
        client.close()
        for f in sink:
            f.close()
        bar.finish()
    if response.code == 304:
        return Downloaded(dest, etag, last_modified, True, _size(dest))
    if response.code == 416 and resume_from:
        part.unlink(missing_ok=True)  # the .part is stale (the file changed or is complete): start over
        return await download(url, dest, headers=headers, progress=progress)
    if response.code == 599 or response.code >= 400 or response.code not in (200, 206):
        reason = response.error if response.code == 599 else f"HTTP {response.code} {response.reason}"
        kept = " (the part received is kept and resumed next time)" if _size(part) else ""
        raise DownloadError(f"cannot download {url}: {reason}{kept}", response.code)
    os.replace(part, dest)
    return Downloaded(
        dest,
        response.headers.get("ETag"),
        response.headers.get("Last-Modified"),
        False,
        _size(dest),
    )


async def fetch_bytes(
    url: str, *, headers: dict[str, str] | None = None, max_bytes: int = DEFAULT_MAX_BYTES
) -> bytes | None:
    """The body of `url`, or None on 404/410; DownloadError on anything else that is not a success."""
    _check_url(url)
    client = _client(max_bytes)
    try:
        response = await client.fetch(
            HTTPRequest(
                url,
                headers={"User-Agent": USER_AGENT, **(headers or {})},
                connect_timeout=CONNECT_TIMEOUT,
                request_timeout=SMALL_TIMEOUT,
                follow_redirects=True,
                max_redirects=5,
            ),
            raise_error=False,
        )
    except (OSError, HTTPClientError) as exc:
        raise DownloadError(f"cannot fetch {url}: {exc.strerror if isinstance(exc, OSError) else exc}") from None
    finally:
        client.close()
    if response.code in (404, 410):
        return None
    if response.code == 599:
        raise DownloadError(f"cannot fetch {url}: {response.error}")
    if response.code >= 400:
        raise DownloadError(f"cannot fetch {url}: HTTP {response.code} {response.reason}")
    return response.body


def _safe_relpath(relpath: str) -> str:
    """A relative path inside the tree: no absolute paths, no `..`, no backslashes or NULs."""
    if not relpath or relpath.startswith("/") or "\\" in relpath or "\x00" in relpath:
        raise DownloadError(f"not a relative path inside the source: {relpath!r}")
    parts = relpath.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise DownloadError(f"not a relative path inside the source: {relpath!r}")
    return relpath


class SourceTree:
    """A publisher's files under a base URL, or a local directory that mirrors their paths."""

    def __init__(self, root: str, cache_dir: Path, headers: dict[str, str] | None = None) -> None:
        self.root = root
        self.cache_dir = cache_dir
        self.headers = headers or {}
        self.is_url = is_url(root)

    @classmethod
    def open(cls, spec: str, cache_dir: Path, *, headers: dict[str, str] | None = None) -> SourceTree:
        if is_url(spec):
            _check_url(spec)
            return cls(spec if spec.endswith("/") else spec + "/", cache_dir, headers)
        path = Path(spec).expanduser()
        if not path.is_dir():
            raise DownloadError(f"no such directory: {spec}")
        return cls(str(path.resolve()), cache_dir, headers)

    def describe(self, relpath: str) -> str:
        relpath = _safe_relpath(relpath)
        return urljoin(self.root, relpath) if self.is_url else str(Path(self.root) / relpath)

    async def read(self, relpath: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes | None:
        """The file's bytes, or None when the source has no such file."""
        where = self.describe(relpath)
        if self.is_url:
            return await fetch_bytes(where, headers=self.headers, max_bytes=max_bytes)
        path = Path(where)

        def read_local() -> bytes | None:
            if not path.is_file():
                return None
            if path.stat().st_size > max_bytes:
                raise DownloadError(f"{path} is larger than {max_bytes} bytes")
            return path.read_bytes()

        return await asyncio.to_thread(read_local)

    async def local(self, relpath: str, *, progress: IO[str] | None = None) -> Path | None:
        """A local path to the file (downloaded into the cache for a URL), or None when it does not exist."""
        where = self.describe(relpath)
        if not self.is_url:
            path = Path(where)
            return path if _is_file(path) else None
        dest = self.cache_dir / hashlib.sha256(self.root.encode()).hexdigest()[:16] / relpath
        try:
            await download(where, dest, headers=self.headers, progress=progress)
        except DownloadError as exc:
            if exc.status in (404, 410):
                return None
            raise
        return dest


async def local_file(
    spec: str,
    cache_dir: Path,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    headers: dict[str, str] | None = None,
    progress: IO[str] | None = sys.stderr,
) -> Downloaded:
    """A file source as a local file: a path as it is, a URL downloaded into the cache (or found unchanged)."""
    if is_url(spec):
        return await download(
            spec,
            cache_path(cache_dir, spec),
            etag=etag,
            last_modified=last_modified,
            headers=headers,
            progress=progress,
        )
    path = _local_path(spec)
    return Downloaded(path, None, None, False, _size(path))


def _local_path(spec: str) -> Path:
    path = Path(spec).expanduser()
    if not path.exists():
        raise DownloadError(f"no such file or directory: {spec}")
    return path
