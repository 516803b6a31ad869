"""Redirect URIs: which ones a client may register, and whether a presented one matches a registration.

Matching is exact string comparison (OAuth 2.1, RFC 9700 4.1.3), with the one exception RFC 8252 7.3 makes
for native apps: an http loopback redirect URI matches on any port, since the app picks a free port at run time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from app.config import is_loopback_host

MAX_LENGTH = 2000
LOOPBACK_HOSTS = ("127.0.0.1", "[::1]", "localhost")

# Schemes a browser interprets itself (running code, reading local files, showing source, reaching its own
# internals or extensions): never a place to send a code. A scheme built on one of them ("javascript+x",
# "view-source.x") is refused too: no legitimate app names itself that way.
FORBIDDEN_SCHEMES = frozenset(
    {
        "javascript",
        "data",
        "vbscript",
        "file",
        "about",
        "blob",
        "filesystem",
        "view-source",
        "ws",
        "wss",
        "chrome",
        "chrome-extension",
        "chrome-untrusted",
        "devtools",
        "edge",
        "brave",
        "opera",
        "vivaldi",
        "moz-extension",
        "resource",
        "jar",
        "safari-extension",
        "ms-browser-extension",
        "intent",
    }
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")
_CONTROL = re.compile(r"[\x00-\x20\x7f]")
_IP_LITERAL = re.compile(r"\[[0-9A-Fa-f:.]+\]")


def is_host_name(host: str) -> bool:
    """A DNS name (labels of letters of any script, digits and hyphens, each starting with a letter or digit,
    an optional final dot) or a bracketed IP literal. Anything else in a host (";", ",", quotes, "%", "\\") has
    no business there and would end up in the consent page's CSP. Checked label by label in linear time: the
    regular expression this replaces backtracked exponentially on a long label followed by a bad character."""
    if host.startswith("["):
        return _IP_LITERAL.fullmatch(host) is not None
    labels = host.split(".")
    if len(labels) > 1 and labels[-1] == "":
        labels.pop()  # a fully qualified name's final dot
    return all(label and label[0].isalnum() and all(ch.isalnum() or ch == "-" for ch in label) for label in labels)


def is_forbidden_scheme(scheme: str) -> bool:
    lowered = scheme.lower()
    return lowered in FORBIDDEN_SCHEMES or re.split(r"[+.]", lowered, maxsplit=1)[0] in FORBIDDEN_SCHEMES


def is_web_url(value: Any) -> bool:
    """An absolute http(s) URL with a host and no control characters: what a page may link to or load
    (client_uri, logo_uri). Anything else, javascript: above all, is never stored or shown."""
    if not isinstance(value, str) or _CONTROL.search(value) or len(value) > MAX_LENGTH:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


class RedirectURIError(ValueError):
    """The redirect URI cannot be registered; the message says why, in one line."""


def validate_redirect_uri(uri: str) -> str:
    """The URI without surrounding whitespace if it may be registered; RedirectURIError otherwise."""
    if not isinstance(uri, str):
        raise RedirectURIError("a redirect URI must be a string")
    value = uri.strip()
    if not value:
        raise RedirectURIError("the redirect URI is empty")
    if len(value) > MAX_LENGTH:
        raise RedirectURIError(f"the redirect URI is longer than {MAX_LENGTH} characters")
    # Whitespace or control characters inside would let browsers and our comparison disagree on the target.
    if _CONTROL.search(value):
        raise RedirectURIError(f"the redirect URI contains whitespace or control characters: {value!r}")
    scheme, sep, _rest = value.partition(":")
    if not sep or not _SCHEME.match(scheme):
        raise RedirectURIError(f"the redirect URI must be an absolute URI with a scheme: {value!r}")
    scheme = scheme.lower()
    if is_forbidden_scheme(scheme):
        raise RedirectURIError(f"{scheme}: redirect URIs are not allowed")
    if "#" in value:
        raise RedirectURIError(f"a redirect URI must not contain a fragment: {value!r}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise RedirectURIError(f"the redirect URI is malformed: {value!r}") from None
    if parts.username is not None or parts.password is not None:
        raise RedirectURIError(f"a redirect URI must not carry credentials: {value!r}")
    if scheme in ("http", "https"):
        if not parts.hostname:
            raise RedirectURIError(f"the redirect URI has no host: {value!r}")
        host = parts.netloc.rsplit("@", 1)[-1]
        host = host if host.endswith("]") else host.rsplit(":", 1)[0] if ":" in host else host
        if not is_host_name(host):
            raise RedirectURIError(f"the redirect URI's host is not a valid host name: {value!r}")
        if scheme == "http" and not is_loopback_host(parts.hostname):
            # OAuth 2.1 / RFC 9700: a code sent over plain http off the machine can be read on the way.
            raise RedirectURIError(f"http redirect URIs are allowed only for loopback hosts; use https: {value!r}")
    elif not parts.path and not parts.netloc:
        raise RedirectURIError(f"the redirect URI needs a path after the scheme: {value!r}")
    return value


def _loopback_key(uri: str) -> tuple[str, str, str] | None:
    """(host, path, query) of an http loopback URI, the parts that must match when the port may differ."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018
    except ValueError:
        return None
    if parts.scheme != "http" or parts.fragment or parts.username or parts.password:
        return None
    host = parts.netloc.rsplit(":", 1)[0] if not parts.netloc.endswith("]") else parts.netloc
    if host not in LOOPBACK_HOSTS:
        return None
    return host, parts.path, parts.query


def redirect_uri_matches(registered: list[str], presented: str) -> bool:
    """Exact match against one registered URI, or a loopback URI differing only in its port (RFC 8252 7.3)."""
    if presented in registered:
        return True
    if _CONTROL.search(presented):
        # urlsplit drops tab, CR and LF, so "/lo\rop" would compare equal to "/loop" below: never a match.
        return False
    key = _loopback_key(presented)
    if key is None:
        return False
    return any(_loopback_key(uri) == key for uri in registered)


def redirect_target(uri: str) -> str:
    """What a person should read on the consent page: the host, or the scheme for a native app's custom URI.

    A host with non-ASCII letters is shown with its punycode form beside it, so that a look-alike such as
    Cyrillic "аpple.com" cannot pass for the real one.
    """
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        return _with_punycode(parts.netloc)
    return f"{parts.scheme}:" + (f"//{_with_punycode(parts.netloc)}" if parts.netloc else "")


def client_hosts(client: Mapping[str, Any]) -> dict[str, str | None]:
    """For the consent page: the host a metadata-document client's description was fetched from (the one
    name a look-alike cannot fake), and the host of its logo; None for clients registered here."""
    if client["registration_source"] != "metadata_document":
        return {"client_host": None, "logo_host": None}
    logo = (client.get("metadata") or {}).get("logo_uri")
    logo_host = _host_of(logo) if isinstance(logo, str) else None
    return {"client_host": _host_of(client["client_id"]), "logo_host": logo_host}


def _host_of(url: str) -> str | None:
    """The host name alone (never user-info, which could read "chatgpt.com@elsewhere"), with its punycode."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    return _with_punycode(host + (f":{port}" if port else ""))


def _with_punycode(netloc: str) -> str:
    if netloc.isascii():
        return netloc
    host, colon, port = netloc.rpartition(":") if netloc.rsplit(":", 1)[-1].isdigit() else (netloc, "", "")
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = host.encode("ascii", "backslashreplace").decode("ascii")
    return f"{netloc} ({ascii_host}{colon}{port})"


def ascii_url(uri: str) -> str:
    """The URI as HTTP headers can carry it (Location, CSP): an IDN host in its punycode form and other
    non-ASCII characters percent-encoded. Browsers treat both spellings as the same address."""
    if uri.isascii():
        return uri
    parts = urlsplit(uri)
    netloc = parts.netloc
    if parts.hostname and not parts.hostname.isascii():
        try:
            ascii_host = parts.hostname.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_host = quote(parts.hostname, safe="")
        netloc = ascii_host + (f":{parts.port}" if parts.port else "")
    safe = "/:@!$&'()*+,;=%?~-._"
    return urlunsplit(
        (
            parts.scheme,
            quote(netloc, safe=safe + "[]"),
            quote(parts.path, safe=safe),
            quote(parts.query, safe=safe),
            quote(parts.fragment, safe=safe),
        )
    )


def form_action_source(uri: str) -> str:
    """The CSP source expression that lets a form submission end in a redirect to `uri`.

    Chrome applies form-action to the redirect that follows a form POST, so the consent page must name the
    client's origin (or, for a native app, its scheme) or the browser blocks the final hop.
    """
    parts = urlsplit(ascii_url(uri))
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        if ":" in host:
            # CSP host-source has no syntax for IPv6 literals; a loopback [::1] client needs its scheme.
            return f"{parts.scheme}:"
        if parts.scheme == "http" and is_loopback_host(host):
            return f"http://{host}:*"
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:"
