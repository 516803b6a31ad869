"""The `secondlayer` command (also `python -m app`): thin, calling the same domain functions as the web."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NoReturn

from app.config import SETTINGS, ConfigError, Settings, ensure_cookie_secret, load_settings, read_env_file
from app.db import UNAVAILABLE, Database, redact_url
from app.db.embedded import EmbeddedPostgres

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


class CommandError(Exception):
    """The command failed for a reason the user can act on; the message is one line."""


@dataclass
class Context:
    """What a command runs with: settings and, on demand, the database (embedded or configured)."""

    settings: Settings
    args: argparse.Namespace
    _embedded: EmbeddedPostgres | None = None
    _database_url: str | None = None
    _db: Database | None = field(default=None)

    creates_database: bool = False  # migrate may start a new embedded database; other commands refuse to
    used_database: bool = False

    @property
    def database_url(self) -> str:
        if self._database_url is None:
            self.used_database = True
            if self.settings.database_url:
                self._database_url = self.settings.database_url
            else:
                self._embedded = EmbeddedPostgres(self.settings.data_dir)
                if not self.creates_database and not self._embedded.exists():
                    raise CommandError(no_database_message(self.settings))
                try:
                    self._database_url = self._embedded.start()
                except Exception as exc:  # noqa: BLE001 - pgserver raises what its subprocesses raise; all are this
                    raise CommandError(
                        f"cannot start the embedded database under {self._embedded.pgdata}: {exc}"
                    ) from None
        return self._database_url

    async def db(self) -> Database:
        """The database, checked to be reachable and at the current schema."""
        if self._db is None:
            from app.db.schema import schema_problem

            db = Database(self.database_url, maxsize=2)
            try:
                problem = await schema_problem(db)
            except UNAVAILABLE as exc:
                await db.close()
                raise CommandError(f"cannot reach the database at {db.safe_url}: {_first_line(exc)}") from None
            if problem:
                await db.close()
                raise CommandError(f"{problem} (database: {database_label(self.settings)})")
            self._db = db
        return self._db

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    def close_embedded(self) -> None:
        if self._embedded is not None:
            self._embedded.stop()
            self._embedded = None


def database_label(settings: Settings) -> str:
    """Which database a command uses, for people: the URL without its password, or the embedded one's place."""
    if settings.database_url:
        return redact_url(settings.database_url)
    return f"embedded PostgreSQL in {settings.data_dir} (DATABASE_URL unset)"


def database_json(settings: Settings) -> dict[str, str]:
    """The same for --json: {"kind": "url", "url"} or {"kind": "embedded", "data_dir"}."""
    if settings.database_url:
        return {"kind": "url", "url": redact_url(settings.database_url)}
    return {"kind": "embedded", "data_dir": str(settings.data_dir)}


def no_database_message(settings: Settings) -> str:
    """A command other than migrate found no database: most likely it was not given the server's settings."""
    where = f"{settings.env_file} sets" if settings.env_file else "no env file is read and the environment sets"
    return (
        f"no database: {where} no DATABASE_URL and there is no embedded database in {settings.data_dir}; "
        "give this command the server's settings with --env-file PATH (or SECONDLAYER_ENV_FILE), or run "
        "`secondlayer migrate` to create a database here"
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# A command returns (result for --json, text for people).
Result = tuple[dict[str, Any], str]
Handler = Callable[[Context], Awaitable[Result]]


@dataclass
class Command:
    """One subcommand: name and help, the coroutine that runs it, and the function that adds its options."""

    name: str
    help: str
    handler: Handler
    configure: Callable[[argparse.ArgumentParser], None]
    creates_database: bool = False  # only migrate may start a new, empty embedded database
    defaults: Callable[[Settings], dict[str, Any]] | None = None  # option defaults that come from settings


def no_options(parser: argparse.ArgumentParser) -> None:
    """The options of a command that takes none beyond --json."""


def read_password(args: argparse.Namespace, *, confirm: bool = True) -> str:
    """From --password-stdin, a prompt, or (with a warning) --password; never silently from argv."""
    if getattr(args, "password", None) is not None:
        print(
            "warning: a password given on the command line is visible in shell history and the process list; "
            "prefer --password-stdin",
            file=sys.stderr,
        )
        return str(args.password)
    if args.password_stdin:
        value = sys.stdin.readline().rstrip("\r\n")
        if not value:
            raise CommandError("no password on standard input")
        return value
    if not sys.stdin.isatty():
        raise CommandError("no terminal to prompt for a password; pipe it with --password-stdin")
    first = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Repeat password: ") != first:
        raise CommandError("the passwords do not match")
    return first


def _password_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    parser.add_argument(
        "--password",
        metavar="PASSWORD",
        help="the password itself; WARNING: visible in shell history and the process list, prefer --password-stdin",
    )


# ---- serve, migrate, bootstrap ------------------------------------------------------------------


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", help="address to listen on (default: %(default)s, the HOST setting)")
    p.add_argument("--port", type=int, help="port to listen on (default: %(default)s, the PORT setting)")
    p.add_argument(
        "--process-num",
        type=int,
        metavar="K",
        help="this process's number K among PROCESSES under supervisord (%%(process_num)d): listens on port+K",
    )


def _serve_defaults(settings: Settings) -> dict[str, Any]:
    return {"host": settings.host, "port": settings.port}


async def _serve(ctx: Context) -> Result:
    settings = ensure_cookie_secret(ctx.settings)
    # Before prometheus_client is imported (by app.server): the host's processes count into one directory, so
    # any one of them answers /metrics for all (app/metrics.py).
    metrics_dir = settings.data_dir / "metrics"
    metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    from app.metrics import forget_dead_processes

    forget_dead_processes(metrics_dir)

    from app.logs import setup_logging
    from app.server import StartupError, serve

    setup_logging(settings.log_level)
    host = ctx.args.host if ctx.args.host is not None else settings.host
    port = ctx.args.port if ctx.args.port is not None else settings.port
    try:
        if ctx.args.process_num is not None:
            if not 0 <= ctx.args.process_num < settings.processes:
                raise CommandError(
                    f"--process-num {ctx.args.process_num} is outside PROCESSES={settings.processes}: make "
                    "supervisord's numprocs and the PROCESSES setting agree (README, Deployment)"
                )
            port += ctx.args.process_num
        if not 0 <= port <= 65535:
            raise CommandError(f"--port must be between 0 and 65535, got {port}")
        if not settings.database_url and not EmbeddedPostgres(settings.data_dir).exists():
            raise CommandError(no_database_message(settings))
        await serve(settings, host, port, database=database_label(settings))
    except (StartupError, CommandError, ConfigError) as exc:
        # Also in the JSON log on stdout, where supervisord's log file keeps it beside the rest.
        message = f"configuration error: {exc}" if isinstance(exc, ConfigError) else str(exc)
        logging.getLogger("secondlayer").error("not started: %s", message)
        raise CommandError(message) from None
    return {"status": "stopped"}, ""  # the log's last line already says "stopped"


async def _migrate(ctx: Context) -> Result:
    from app.db.schema import current_revision, head_revision, upgrade

    url = ctx.database_url
    db = Database(url, maxsize=1)
    try:
        before = await current_revision(db)
    except UNAVAILABLE as exc:
        raise CommandError(f"cannot reach the database at {redact_url(url)}: {_first_line(exc)}") from None
    finally:
        await db.close()
    await asyncio.get_running_loop().run_in_executor(None, upgrade, url)
    head = head_revision()
    text = f"schema already at {head}" if before == head else f"schema upgraded from {before or 'empty'} to {head}"
    return {"from": before, "to": head}, text


async def _bootstrap(ctx: Context) -> Result:
    import secrets

    from app.audit import Actor
    from app.auth.users import count_admins, create_user
    from app.corpus.commands import demo_corpus_step

    db = await ctx.db()
    result: dict[str, Any] = {"operator_created": False}
    lines = []
    if await count_admins(db) == 0:
        email = ctx.settings.admin_email or "admin@example.com"
        password = ctx.settings.admin_password or secrets.token_urlsafe(12)
        await create_user(
            db, email, password=password, is_admin=True, rounds=ctx.settings.bcrypt_rounds, actor=Actor("bootstrap")
        )
        result.update(operator_created=True, email=email)
        if ctx.settings.admin_password:
            lines.append(f"created operator {email} with the password from ADMIN_PASSWORD")
        else:
            result["password"] = password
            lines.append(f"created operator {email} with password: {password}")
            lines.append("(shown once: sign in at /admin and change it)")
    else:
        lines.append("an operator exists already")
    key, text = await demo_corpus_step(db)
    result.update(key)
    lines.append(text)
    return result, "\n".join(lines)


# ---- users -------------------------------------------------------------------------------------


def _create_user_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("email")
    p.add_argument("--admin", action="store_true", help="make the user an operator")
    p.add_argument("--no-password", action="store_true", help="create without a password (no sign-in until set)")
    _password_flags(p)


async def _create_user(ctx: Context) -> Result:
    from app.auth.passwords import PasswordRejected, check_policy
    from app.auth.users import UserError, create_user, normalize_email

    try:
        email = normalize_email(ctx.args.email)
    except UserError as exc:
        raise CommandError(str(exc)) from None
    db = await ctx.db()
    password = None if ctx.args.no_password else read_password(ctx.args)
    try:
        if password is not None:
            check_policy(password)
        row = await create_user(
            db, email, password=password, is_admin=ctx.args.admin, rounds=ctx.settings.bcrypt_rounds
        )
    except (UserError, PasswordRejected) as exc:
        raise CommandError(str(exc)) from None
    role = "operator" if row["is_admin"] else "user"
    return {"id": row["id"], "email": row["email"], "is_admin": row["is_admin"]}, f"created {role} {row['email']}"


def _set_password_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("email")
    _password_flags(p)


async def _set_password(ctx: Context) -> Result:
    from app.auth.passwords import PasswordRejected, check_policy
    from app.auth.users import UserError, get_user_by_email, set_password

    db = await ctx.db()
    if await get_user_by_email(db, ctx.args.email) is None:
        raise CommandError(f"no user with email {ctx.args.email.strip()}")
    password = read_password(ctx.args)
    try:
        check_policy(password)
        row = await set_password(db, ctx.args.email, password, rounds=ctx.settings.bcrypt_rounds)
    except (UserError, PasswordRejected) as exc:
        raise CommandError(str(exc)) from None
    return {"id": row["id"], "email": row["email"]}, f"password set for {row['email']}"


# ---- maintenance -------------------------------------------------------------------------------


async def _cleanup(ctx: Context) -> Result:
    from app.jobs import run_cleanup

    result = await run_cleanup(await ctx.db(), "cli", audit_retention_days=ctx.settings.audit_retention_days)
    payload = {
        "status": result.status,
        "rows_deleted": result.rows_deleted,
        "duration_ms": result.duration_ms,
        "details": result.details,
    }
    if result.status == "error":
        raise CommandError(f"cleanup failed: {result.error}")
    if result.status == "skipped":
        return payload, "skipped: another cleanup is running"
    parts = ", ".join(f"{k} {v}" for k, v in result.details.items())
    return payload, f"deleted {result.rows_deleted} rows in {result.duration_ms} ms ({parts})"


def _deploy_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("proxy", choices=["nginx"], help="the proxy whose routing block to print")
    p.add_argument(
        "--host",
        action="append",
        default=[],
        metavar="NAME=ADDRESS",
        help="a host running PROCESSES processes from PORT: its NODE_NAME and the address nginx reaches it at; "
        "repeat per host (default: this host, NODE_NAME=127.0.0.1, with its standby)",
    )


async def _deploy_config(ctx: Context) -> Result:
    from app.deploy import nginx_routing, parse_hosts

    processes = parse_hosts(ctx.settings, ctx.args.host)
    payload = {"processes": [{"name": p.name, "address": p.address, "standby": p.standby} for p in processes]}
    return payload, nginx_routing(processes).rstrip("\n")


# The commands defined here; app/auth/commands.py and app/corpus/commands.py end with lists of their own.
COMMANDS = [
    Command("serve", "run the server", _serve, _serve_args, defaults=_serve_defaults),
    Command(
        "migrate",
        "upgrade the database schema to the latest revision (alembic upgrade head)",
        _migrate,
        no_options,
        creates_database=True,
    ),
    Command(
        "bootstrap",
        "first-run setup used by `make run`: the first operator and the demo corpus",
        _bootstrap,
        no_options,
    ),
    Command("create-user", "add a user; the password comes from stdin or a prompt", _create_user, _create_user_args),
    Command("set-password", "set or reset a user's password", _set_password, _set_password_args),
    Command("cleanup", "run the expired-data cleanup now", _cleanup, no_options),
    Command(
        "deploy-config",
        "print the proxy's routing block (session owner map, upstreams) for PROCESSES processes per host",
        _deploy_config,
        _deploy_config_args,
    ),
]


# ---- the parser and main -----------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def command_table() -> dict[str, Command]:
    """Every subcommand by name, in the order `secondlayer --help` lists them."""
    # Imported here rather than at the top: these modules build on Context and Command from this one.
    from app.auth import commands as auth_commands
    from app.corpus import commands as corpus_commands

    return {cmd.name: cmd for cmd in [*COMMANDS, *auth_commands.COMMANDS, *corpus_commands.COMMANDS]}


def version() -> str:
    from app.config import package_version

    return package_version()


def common_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """--json and --env-file, accepted before the command (`default` False/None) and after it (SUPPRESS, so the
    command's parser does not overwrite what was given before it)."""
    parser.add_argument(
        "--json",
        action="store_true",
        default=default if default is argparse.SUPPRESS else False,
        help="print exactly one JSON object on stdout",
    )
    parser.add_argument(
        "--env-file",
        metavar="PATH",
        default=default,
        help="read settings from this file of KEY=VALUE lines first, as `serve` does (its values "
        "win over the environment; default: $SECONDLAYER_ENV_FILE)",
    )


def _configuration_epilog(settings: Settings | None) -> str | None:
    if settings is None:
        return None
    env_file = settings.env_file or "none (no --env-file, SECONDLAYER_ENV_FILE unset)"
    return (
        f"configuration now: env file {env_file}; database {database_label(settings)}; public URL {settings.public_url}"
    )


def build_parser(table: dict[str, Command], settings: Settings | None = None) -> argparse.ArgumentParser:
    """The parser; with `settings`, each command's help shows the effective defaults and configuration."""
    parser = _Parser(
        prog="secondlayer",
        description="SecondLayer MCP gateway. Settings come from the environment and the env file "
        "(--env-file or SECONDLAYER_ENV_FILE): " + ", ".join(s.name for s in SETTINGS),
        epilog=_configuration_epilog(settings),
    )
    parser.add_argument("--version", action="version", version=f"secondlayer {version()}")
    common_options(parser, None)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for cmd in table.values():
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help, epilog=_configuration_epilog(settings))
        common_options(p, argparse.SUPPRESS)
        cmd.configure(p)
        if settings is not None and cmd.defaults is not None:
            p.set_defaults(**cmd.defaults(settings))
    return parser


def _env_file_argument(argv: list[str]) -> str | None:
    """--env-file wherever it stands, read before the full parser is built (its help shows the settings)."""
    pre = argparse.ArgumentParser(add_help=False)
    pre.add_argument("--env-file")
    known, _ = pre.parse_known_args(argv)
    return known.env_file  # type: ignore[no-any-return]


def load_configuration(argv: list[str]) -> Settings:
    """The settings `serve` and every command run with: the env file (--env-file, else SECONDLAYER_ENV_FILE)
    laid over the environment, exactly as supervisord's `serve` reads it; ConfigError names what is wrong."""
    path = _env_file_argument(argv) or os.environ.get("SECONDLAYER_ENV_FILE", "")
    if path:
        # Into the process environment too, as a shell that sourced the file would have it: libpq and any
        # subprocess see the same values (PGSSLROOTCERT, TZ, ...).
        os.environ.update(read_env_file(path))
        os.environ["SECONDLAYER_ENV_FILE"] = str(Path(path).expanduser().resolve())
    return load_settings(os.environ)


def _json_value(value: Any) -> Any:
    """--json's rendering of what JSON lacks: timestamps in ISO 8601 with T and an offset (UTC when none)."""
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


@contextmanager
def _quiet_warnings() -> Iterator[None]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    table = command_table()
    settings: Settings | None = None
    config_error: ConfigError | None = None
    try:
        settings = load_configuration(argv)
    except ConfigError as exc:
        config_error = exc  # reported after parsing, so that --help and --version still answer
    args = build_parser(table, settings).parse_args(argv)
    cmd = table[args.command]
    want_json = bool(args.json)

    def fail(message: str, database: dict[str, str] | None = None) -> int:
        print(f"secondlayer {cmd.name}: {message}", file=sys.stderr)
        if want_json:
            extra = {"database": database} if database else {}
            print(json.dumps({"ok": False, "error": message, **extra}, ensure_ascii=False))
        return EXIT_FAIL

    if settings is None:
        return fail(f"configuration error: {config_error}")
    ctx = Context(settings=settings, args=args, creates_database=cmd.creates_database)

    async def run() -> Result:
        try:
            return await cmd.handler(ctx)
        finally:
            await ctx.close()

    try:
        with _quiet_warnings():
            payload, text = asyncio.run(run())
    except CommandError as exc:
        return fail(str(exc), database_json(settings) if ctx.used_database else None)
    except ConfigError as exc:
        return fail(f"configuration error: {exc}")
    except KeyboardInterrupt:
        return fail("interrupted")
    finally:
        ctx.close_embedded()
    if ctx.used_database or cmd.name == "serve":
        payload = {**payload, "database": database_json(settings)}
        text = f"{text}\ndatabase: {database_label(settings)}" if text else ""
    if want_json:
        print(json.dumps({"ok": True, **payload}, ensure_ascii=False, default=_json_value))
    elif text:
        print(text)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
