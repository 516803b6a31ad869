"""Settings: one table, read once from the environment at start and passed in from there."""

from __future__ import annotations

import functools
import ipaddress
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as _distribution_version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from apscheduler.triggers.cron import CronTrigger


class ConfigError(Exception):
    """A setting has a value the server cannot run with; the message is one line naming it."""


def _int(minimum: int, maximum: int) -> Callable[[str, str], int]:
    def parse(name: str, raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
        if not minimum <= value <= maximum:
            raise ConfigError(f"{name} must be between {minimum} and {maximum}, got {value}")
        return value

    return parse


def _str(name: str, raw: str) -> str:
    return raw.strip()


def _bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _choice(*choices: str) -> Callable[[str, str], str]:
    def parse(name: str, raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {raw!r}")
        return value

    return parse


def is_loopback_host(host: str) -> bool:
    """True for localhost and loopback IP literals, the hosts where plain http is acceptable."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _public_url(name: str, raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value:
        return ""  # follows the address `serve` listens on (load_settings, Settings.bound_to)
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an absolute http(s) URL such as https://mcp.example.org, got {raw!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{name} must not carry a query, fragment or credentials, got {raw!r}")
    if parts.scheme == "http" and not is_loopback_host(parts.hostname):
        # OAuth 2.1 and RFC 9700: authorization servers off loopback must use TLS.
        raise ConfigError(f"{name} must use https unless the host is loopback, got {raw!r}")
    return value


def _database_url(name: str, raw: str) -> str:
    value = raw.strip()
    if not value:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(f"{name} must look like postgresql://user:pass@host:port/db, got scheme {parts.scheme!r}")
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        raise ConfigError(f"{name} has a malformed port") from None
    if not parts.path.strip("/") and "dbname=" not in parts.query:
        raise ConfigError(f"{name} must name a database, e.g. postgresql://user:pass@host:5432/secondlayer")
    return value


def _cron(name: str, raw: str) -> str:
    value = " ".join(raw.split())
    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ConfigError(f"{name} must be a 5-field crontab expression, got {raw!r} ({exc})") from None
    return value


def _optional_cron(name: str, raw: str) -> str:
    """A crontab expression, or "" for off."""
    return _cron(name, raw) if raw.strip() else ""


def _http_url(name: str, raw: str) -> str:
    value = raw.strip()
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        raise ConfigError(f"{name} must be an http(s) URL, got {raw!r}")
    return value


def _node_name(name: str, raw: str) -> str:
    value = raw.strip().lower()
    if not (1 <= len(value) <= 16 and value.isascii() and value.isalnum()):
        raise ConfigError(f"{name} must be 1 to 16 letters or digits, e.g. a or web2; got {raw!r}")
    return value


def _processes(name: str, raw: str) -> int:
    if not raw.strip():
        return os.cpu_count() or 1
    return _int(1, 64)(name, raw)


def _optional_http_url(name: str, raw: str) -> str:
    """An http(s) URL, or "" when it is not set."""
    return _http_url(name, raw) if raw.strip() else ""


def _dump_url(name: str, raw: str) -> str:
    """The URL of a file to download, or "": a dataset's page on data.gov.ua (/dataset/ID, no /resource/) is not
    one, and saying so here beats importing an HTML page at the first scheduled run."""
    value = _optional_http_url(name, raw)
    path = urlsplit(value).path.rstrip("/")
    if "/dataset/" in path and "/resource/" not in path and path.rsplit("/", 2)[-2] == "dataset":
        raise ConfigError(
            f"{name} is a dataset's page, not a file: give the download URL of the resource itself "
            f"(the uo.zip, fop.zip or fsu.zip link on that page), got {raw!r}"
        )
    return value


def _origins(name: str, raw: str) -> tuple[str, ...]:
    origins = []
    for item in raw.split(","):
        item = item.strip().rstrip("/")
        if not item:
            continue
        parts = urlsplit(item)
        if item != "*" and (parts.scheme not in ("http", "https") or not parts.hostname or parts.path):
            raise ConfigError(f"{name} must list origins like https://chatgpt.com, separated by commas; got {item!r}")
        origins.append(item.lower())
    return tuple(origins)


def _networks(name: str, raw: str) -> tuple[str, ...]:
    networks = []
    for item in raw.split(","):
        if not item.strip():
            continue
        try:
            networks.append(str(ipaddress.ip_network(item.strip(), strict=False)))
        except ValueError:
            raise ConfigError(
                f"{name} must list IP addresses or networks like 127.0.0.1,10.0.0.0/8; got {item!r}"
            ) from None
    return tuple(networks)


@functools.cache
def package_version() -> str:
    """This package's version, read from its installed metadata once per process (reading it parses files on
    disk: too slow for every request); "unknown" in a source tree that was never installed."""
    try:
        return _distribution_version("secondlayer")
    except PackageNotFoundError:
        return "unknown"


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str
    parse: Callable[[str, str], Any]
    attr: str = ""


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "SECONDLAYER_ENV_FILE",
        "",
        "file of KEY=VALUE lines read first by `serve` and every command alike (also --env-file); its values "
        "win over the environment",
        _str,
        "env_file",
    ),
    Setting(
        "DATABASE_URL",
        "",
        "postgresql://user:pass@host:port/db of a real server; unset: embedded PostgreSQL",
        _database_url,
    ),
    Setting(
        "SECONDLAYER_DATA_DIR", "./var", "directory for the embedded database and generated secrets", _str, "data_dir"
    ),
    Setting(
        "PUBLIC_URL",
        "",
        "external base URL: OAuth issuer and MCP resource ids; https unless the host is loopback; unset: "
        "http://HOST:PORT as `serve` listens (loopback only)",
        _public_url,
    ),
    Setting("HOST", "127.0.0.1", "address `serve` listens on (overridden by --host)", _str),
    Setting("PORT", "8000", "port `serve` listens on (overridden by --port)", _int(0, 65535)),
    Setting("COOKIE_SECRET", "", "signs session cookies; unset: generated once and kept in the data dir", _str),
    Setting("ACCESS_TOKEN_TTL", "2592000", "access token lifetime in seconds (30 days)", _int(60, 31536000)),
    Setting("REFRESH_TOKEN_TTL", "7776000", "refresh token lifetime in seconds (90 days)", _int(60, 63072000)),
    Setting("AUTH_CODE_TTL", "600", "authorization code lifetime in seconds; codes are single-use", _int(10, 3600)),
    Setting(
        "REFRESH_REUSE_GRACE",
        "30",
        "seconds a just-retired refresh token is still answered (concurrent refresh) without revoking the grant",
        _int(0, 300),
    ),
    Setting(
        "CODE_REUSE_GRACE",
        "10",
        "seconds within which a replayed authorization code is refused without revoking its tokens",
        _int(0, 120),
    ),
    Setting(
        "SECRET_ROTATION_GRACE", "86400", "seconds an old client secret keeps working after rotation", _int(0, 2592000)
    ),
    Setting("BCRYPT_ROUNDS", "10", "password hashing cost (bcrypt log rounds)", _int(4, 16)),
    Setting(
        "SESSION_TTL", "43200", "seconds a browser sign-in (consent page, admin console) lasts", _int(300, 2592000)
    ),
    Setting(
        "LOGIN_MAX_FAILURES",
        "5",
        "failed sign-ins to one account from one address (IPv6: its /64) before that pair is locked out",
        _int(1, 100),
    ),
    Setting(
        "LOGIN_MAX_FAILURES_PER_ADDRESS",
        "20",
        "failed sign-ins from one address (IPv6: its /64), whatever the accounts, before it is locked out",
        _int(1, 1000),
    ),
    Setting(
        "LOGIN_LOCKOUT",
        "300",
        "seconds of the first lockout; doubles on each further lockout, up to 1 hour",
        _int(1, 86400),
    ),
    Setting(
        "LOGIN_SLOWDOWN_MS",
        "500",
        "milliseconds every sign-in to an account waits once it has had LOGIN_MAX_FAILURES failures in 15 min "
        "from all addresses together; doubles with each further failure (0: off)",
        _int(0, 60000),
    ),
    Setting(
        "LOGIN_SLOWDOWN_MAX_MS",
        "8000",
        "longest such wait in milliseconds; an account is slowed, never locked",
        _int(0, 60000),
    ),
    Setting("REGISTRATION_RATE_LIMIT", "20", "dynamic client registrations allowed per IP per hour", _int(1, 100000)),
    Setting(
        "CLIENT_METADATA_ALLOW_LOOPBACK",
        "false",
        "allow client metadata documents on loopback/private addresses (tests only; keep false)",
        _bool,
    ),
    Setting("CLEANUP_CRON", "0 3 * * *", "when the expired-data cleanup runs (crontab, UTC)", _cron),
    Setting(
        "SYNC_RADA_DEPUTIES_CRON",
        "",
        "when to re-import the deputies from SYNC_RADA_DEPUTIES_URL (crontab, UTC); empty: never",
        _optional_cron,
    ),
    Setting(
        "SYNC_RADA_DEPUTIES_URL",
        "https://data.rada.gov.ua/ogd/mps/skl9/mps-data.json",
        "the deputies file the sync imports (mps-data.json of a convocation, or its directory's URL)",
        _http_url,
    ),
    Setting(
        "SYNC_RADA_BILLS_CRON",
        "",
        "when to re-import the bills from SYNC_RADA_BILLS_URL (crontab, UTC); empty: never",
        _optional_cron,
    ),
    Setting(
        "SYNC_RADA_BILLS_URL",
        "https://data.rada.gov.ua/ogd/zpr/skl9/",
        "the bills the sync imports: a convocation's directory (billinfo-skl{N}.json) or a file's URL",
        _http_url,
    ),
    Setting(
        "SYNC_EDRSR_CRON",
        "",
        "when the court register (ЄДРСР) is re-imported from SYNC_EDRSR_URL (crontab, UTC); empty: never",
        _optional_cron,
    ),
    Setting(
        "SYNC_EDRSR_URL",
        "https://data.gov.ua/api/3/action/package_search?q=%D1%81%D1%83%D0%B4%D0%BE%D0%B2%D0%B8%D1%85+"
        "%D1%80%D1%96%D1%88%D0%B5%D0%BD%D1%8C&rows=50",
        "an edrsr_data_YYYY.zip download URL, or data.gov.ua's catalogue search API (the default: \"судових "
        "рішень\"), in whose answer the sync finds this year's archive (each year is a dataset of its own); an "
        "unchanged archive (ETag) is skipped; empty: no sync",
        _optional_http_url,
    ),
    Setting(
        "AUDIT_RETENTION_DAYS",
        "365",
        "days audit log entries are kept before the cleanup deletes them (0: kept forever)",
        _int(0, 36500),
    ),
    Setting(
        "SYNC_RADA_LAWS_CRON",
        "",
        "when legislation is re-imported from SYNC_RADA_LAWS_URL (crontab, UTC); unset: never",
        _optional_cron,
    ),
    Setting(
        "SYNC_RADA_LAWS_URL",
        "https://data.rada.gov.ua",
        "base URL (or mirror) of the Rada's open data that the legislation sync imports from",
        _http_url,
    ),
    Setting(
        "ALLOWED_ORIGINS",
        "https://chatgpt.com,https://claude.ai,https://claude.com",
        "browser origins allowed on the MCP endpoints besides PUBLIC_URL's own",
        _origins,
    ),
    Setting(
        "TRUSTED_PROXIES",
        "127.0.0.1,::1",
        "addresses of the TLS proxies whose X-Forwarded-For/-Proto are believed (comma-separated IPs or "
        "networks); empty: none",
        _networks,
    ),
    Setting("MAX_BODY_BYTES", "1048576", "largest request body accepted, in bytes", _int(1024, 104857600)),
    Setting("MCP_SESSION_IDLE_TIMEOUT", "3600", "seconds an idle MCP session lives", _int(10, 604800)),
    Setting("MCP_MAX_SESSIONS", "32", "open MCP sessions and streams allowed per principal", _int(1, 10000)),
    Setting(
        "PROCESSES",
        "",
        "server processes on this host (supervisord's numprocs, ports PORT to PORT+N-1, as `deploy-config` "
        "writes them); unset: the number of cores",
        _processes,
    ),
    Setting(
        "NODE_NAME",
        "a",
        "this host's name in MCP session ids (with the port), which the proxy routes each session's requests on; "
        "give every host its own",
        _node_name,
    ),
    Setting(
        "METRICS_TOKEN",
        "",
        "bearer token GET /metrics requires (the proxy also refuses /metrics from outside); unset: /metrics "
        "answers 404",
        _str,
    ),
    Setting("DB_POOL_SIZE", "10", "largest number of database connections per process", _int(1, 200)),
    Setting("LOG_LEVEL", "info", "debug, info, warning or error", _choice("debug", "info", "warning", "error")),
    Setting("ADMIN_EMAIL", "", "first operator's email for `bootstrap` (make run); unset: admin@example.com", _str),
    Setting("ADMIN_PASSWORD", "", "first operator's password for `bootstrap`; unset: generated and printed once", _str),
    Setting(
        "SYNC_EDR_CRON",
        "",
        "when the ЄДР register is re-imported from SYNC_EDR_URL (crontab, UTC); empty: never",
        _optional_cron,
    ),
    Setting(
        "SYNC_EDR_URL",
        "",
        "the ЄДР dump the scheduled sync imports: the download URL of the uo.zip, fop.zip or fsu.zip resource on "
        "data.gov.ua (each publication is a dated resource of its own, so no stable file URL exists; the dataset's "
        "page is refused); empty: no sync",
        _dump_url,
    ),
)


@dataclass(frozen=True)
class Settings:
    database_url: str
    data_dir: Path
    public_url: str
    host: str
    port: int
    cookie_secret: str
    access_token_ttl: int
    refresh_token_ttl: int
    auth_code_ttl: int
    refresh_reuse_grace: int
    code_reuse_grace: int
    secret_rotation_grace: int
    bcrypt_rounds: int
    session_ttl: int
    login_max_failures: int
    login_max_failures_per_address: int
    login_lockout: int
    login_slowdown_ms: int
    login_slowdown_max_ms: int
    registration_rate_limit: int
    client_metadata_allow_loopback: bool
    cleanup_cron: str
    sync_rada_deputies_cron: str
    sync_rada_deputies_url: str
    sync_rada_bills_cron: str
    sync_rada_bills_url: str
    sync_edrsr_cron: str
    sync_edrsr_url: str
    audit_retention_days: int
    sync_rada_laws_cron: str
    sync_rada_laws_url: str
    allowed_origins: tuple[str, ...]
    trusted_proxies: tuple[str, ...]
    max_body_bytes: int
    mcp_session_idle_timeout: int
    mcp_max_sessions: int
    db_pool_size: int
    processes: int
    node_name: str
    metrics_token: str = field(repr=False)
    log_level: str
    admin_email: str
    admin_password: str = field(repr=False)
    env_file: str = ""
    public_url_explicit: bool = True  # False: PUBLIC_URL was unset and follows the address `serve` listens on
    sync_edr_cron: str = ""
    sync_edr_url: str = ""

    @property
    def issuer(self) -> str:
        return self.public_url

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def mcp_resources(self) -> tuple[str, ...]:
        """The canonical resource identifiers (RFC 8707) of this server's MCP endpoints."""
        return (f"{self.public_url}/mcp", f"{self.public_url}/sse")

    @property
    def accepted_audiences(self) -> tuple[str, ...]:
        """Token audiences good on every MCP endpoint: the endpoints and the server's base URL."""
        return (self.public_url, *self.mcp_resources)

    def bound_to(self, host: str, port: int) -> Settings:
        """These settings for a server listening on host:port: an unset PUBLIC_URL follows that address."""
        if self.public_url_explicit:
            return self
        return self.replace(public_url=url_for_bind(host, port))

    def replace(self, **changes: Any) -> Settings:
        values = {name: getattr(self, name) for name in self.__dataclass_fields__}
        values.update(changes)
        return Settings(**values)


def _attr(setting: Setting) -> str:
    return setting.attr or setting.name.lower()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Parse every setting from the environment; raises ConfigError on the first bad one."""
    env = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = env.get(setting.name)
        if raw is None:
            raw = setting.default
        values[_attr(setting)] = setting.parse(setting.name, raw)
    values["data_dir"] = Path(values["data_dir"]).expanduser().resolve()
    if not values["public_url"]:
        values["public_url"] = url_for_bind(values["host"], values["port"])
        values["public_url_explicit"] = False
    return Settings(**values)


WILDCARD_HOSTS = ("", "0.0.0.0", "::")  # noqa: S104 - names of "every address", compared, not bound here


def url_for_bind(host: str, port: int) -> str:
    """The public URL of a server listening on host:port when PUBLIC_URL is unset: loopback only, since plain
    http is refused anywhere else; "every address" is advertised as 127.0.0.1."""
    name = host.strip().strip("[]")
    if name in WILDCARD_HOSTS:
        name = "127.0.0.1"
    if not is_loopback_host(name):
        raise ConfigError(
            f"PUBLIC_URL is unset and HOST {host} is not a loopback address; set PUBLIC_URL to the "
            "https URL clients reach the server at"
        )
    if ":" in name:
        name = f"[{name}]"
    return f"http://{name}:{port}"


def public_url_mismatch(settings: Settings, host: str, port: int) -> str | None:
    """Why a loopback PUBLIC_URL set by hand will not reach a server listening on host:port, or None."""
    parts = urlsplit(settings.public_url)
    if not settings.public_url_explicit or not is_loopback_host(parts.hostname or ""):
        return None
    public_port = parts.port or (443 if parts.scheme == "https" else 80)
    name = host.strip().strip("[]")
    if name not in WILDCARD_HOSTS and not is_loopback_host(name):
        return (
            f"PUBLIC_URL {settings.public_url} is a loopback URL but the server listens on {host}, not on "
            "loopback: clients given PUBLIC_URL will not reach it"
        )
    if public_port != port:
        return (
            f"PUBLIC_URL {settings.public_url} names port {public_port} but the server listens on port {port}: "
            "clients given PUBLIC_URL will not reach it unless a proxy forwards that port here"
        )
    return None


def read_env_file(path: str | Path) -> dict[str, str]:
    """The KEY=VALUE lines of an env file, as deploy tools write them: one a line, taken literally (no quotes,
    no expansion, so a secret may hold any character); blank lines and lines starting with # are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"cannot read the env file {path}: {reason}") from None
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or not key or not all(c.isascii() and (c.isalnum() or c == "_") for c in key):
            # The value is never echoed: it may be a secret.
            raise ConfigError(f"{path}:{number}: not a KEY=VALUE line (KEY of letters, digits and _)")
        values[key] = value
    return values


def ensure_cookie_secret(settings: Settings) -> Settings:
    """Return settings with a cookie secret, generating one into the data dir on first use."""
    if settings.cookie_secret:
        return settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / "cookie_secret"
    if not path.exists():
        # O_EXCL so two processes starting together cannot both write a different secret.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(48))
    secret = path.read_text().strip()
    if len(secret) < 32:
        raise ConfigError(f"{path} holds a cookie secret shorter than 32 characters; delete it to regenerate")
    return settings.replace(cookie_secret=secret)


def settings_table_markdown() -> str:
    """The settings as a Markdown table: README.md's "Settings" table, which a test holds to it."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = f"`{s.default}`" if s.default else "unset"
        rows.append(f"| `{s.name}` | {default} | {s.help} |")
    return "\n".join(rows)
