"""CLI commands for OAuth clients, users and API keys: register-client, rotate-secret, create-api-key, revoke-api-key,
list-clients, list-users, list-api-keys."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.audit import CLI
from app.cli import Command, CommandError, Context, Result, no_options


def _register_client_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--name", required=True, help="shown to users on the consent page")
    p.add_argument(
        "--redirect-uri",
        action="append",
        required=True,
        dest="redirect_uris",
        metavar="URI",
        help="a callback URL, e.g. https://chatgpt.com/connector_platform_oauth_redirect (repeatable)",
    )
    p.add_argument(
        "--public",
        action="store_true",
        help="a public client (no secret, token_endpoint_auth_method none; PKCE still required)",
    )
    p.add_argument(
        "--auth-method",
        choices=["client_secret_post", "client_secret_basic", "private_key_jwt"],
        default="client_secret_post",
        help="how a confidential client authenticates (default client_secret_post; private_key_jwt signs "
        "a JWT with its own key and needs --jwks-uri or --jwks-file)",
    )
    p.add_argument("--jwks-uri", metavar="URL", help="private_key_jwt: https URL where the client publishes its keys")
    p.add_argument(
        "--jwks-file", metavar="PATH", help="private_key_jwt: a file with the client's public JWK set, or - for stdin"
    )


async def _register_client(ctx: Context) -> Result:
    from app.auth.clients import ClientError, register_client

    method = "none" if ctx.args.public else ctx.args.auth_method
    if (ctx.args.jwks_uri or ctx.args.jwks_file) and method != "private_key_jwt":
        raise CommandError("--jwks-uri and --jwks-file go with --auth-method private_key_jwt")
    jwks = _read_jwks(ctx.args.jwks_file) if ctx.args.jwks_file else None
    db = await ctx.db()
    try:
        row, secret = await register_client(
            db,
            name=ctx.args.name,
            redirect_uris=ctx.args.redirect_uris,
            token_endpoint_auth_method=method,
            jwks_uri=ctx.args.jwks_uri,
            jwks=jwks,
            actor=CLI,
            allow_loopback_jwks_uri=ctx.settings.client_metadata_allow_loopback,
        )
    except ClientError as exc:
        raise CommandError(str(exc)) from None
    base = ctx.settings.public_url
    payload = {
        "client_id": row["client_id"],
        "client_secret": secret,
        "name": row["name"],
        "redirect_uris": row["redirect_uris"],
        "token_endpoint_auth_method": method,
        "jwks_uri": row["jwks_uri"],
        "jwks_keys": len(row["jwks"]["keys"]) if row["jwks"] else None,
        "authorization_url": f"{base}/oauth/authorize",
        "token_url": f"{base}/oauth/token",
        "scope": "mcp",
    }
    lines = [f"client_id:          {row['client_id']}"]
    if secret:
        lines.append(f"client_secret:      {secret}")
        lines.append("(the secret is shown once; it is stored only as a hash)")
    lines += [
        f"authorization URL:  {payload['authorization_url']}",
        f"token URL:          {payload['token_url']}",
        "scope:              mcp",
        f"auth method:        {method}",
    ]
    if row["jwks_uri"]:
        lines.append(f"keys published at:  {row['jwks_uri']}")
    elif row["jwks"]:
        lines.append(f"keys registered:    {len(row['jwks']['keys'])}")
    return payload, "\n".join(lines)


def _read_jwks(path: str) -> Any:
    """The JSON in the file (or stdin for -), as the client's JWK set; its keys are checked at registration."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise CommandError(f'{path} is not JSON; it must hold a JWK set like {{"keys": [...]}}') from None


def _rotate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("client_id")


async def _rotate_secret(ctx: Context) -> Result:
    from app.auth.clients import ClientError, rotate_secret

    db = await ctx.db()
    try:
        _row, secret, valid_until = await rotate_secret(
            db, ctx.args.client_id, grace_seconds=ctx.settings.secret_rotation_grace, actor=CLI
        )
    except ClientError as exc:
        raise CommandError(str(exc)) from None
    until = valid_until.isoformat(timespec="seconds")
    return (
        {"client_id": ctx.args.client_id, "client_secret": secret, "old_secret_valid_until": until},
        f"client_secret: {secret}\n(shown once; the previous secret works until {until})",
    )


def _create_key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", required=True, metavar="EMAIL", help="the user the key acts as")
    p.add_argument("--name", required=True, help="what the key is for, e.g. 'n8n workflow'")


async def _create_api_key(ctx: Context) -> Result:
    from app.auth.api_keys import ApiKeyError, create_api_key
    from app.auth.users import UserError

    db = await ctx.db()
    try:
        row, key = await create_api_key(db, ctx.args.user, ctx.args.name, actor=CLI)
    except (ApiKeyError, UserError) as exc:
        raise CommandError(str(exc)) from None
    return (
        {"id": row["id"], "key": key, "name": row["name"], "prefix": row["prefix"], "user": ctx.args.user},
        f"key: {key}\nid:  {row['id']}\n(the key is shown once; it is stored only as a hash)",
    )


def _revoke_key_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("key_id", type=int, metavar="KEY_ID")


async def _revoke_api_key(ctx: Context) -> Result:
    from app.auth.api_keys import ApiKeyError, get_api_key, revoke_api_key

    db = await ctx.db()
    before = await get_api_key(db, ctx.args.key_id)
    already = before is not None and before["revoked_at"] is not None
    try:
        row = await revoke_api_key(db, ctx.args.key_id, actor=CLI)
    except ApiKeyError as exc:
        raise CommandError(str(exc)) from None
    payload = {"id": row["id"], "prefix": row["prefix"], "revoked_at": row["revoked_at"], "already_revoked": already}
    if already:
        return payload, f"API key {row['id']} ({row['prefix']}...) was already revoked at {_when(row['revoked_at'])}"
    return payload, f"revoked API key {row['id']} ({row['prefix']}...)"


# ---- listings ----------------------------------------------------------------------------------


def _when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "never"


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """Plain columns for people; --json has every field."""
    if not rows:
        return "(none)"
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


async def _list_clients(ctx: Context) -> Result:
    from app.auth.clients import list_clients

    rows = await list_clients(await ctx.db())
    items = [
        {
            "id": r["id"],
            "client_id": r["client_id"],
            "name": r["name"],
            "status": "disabled" if r["disabled"] else "enabled",
            "registration": r["registration_source"],
            "auth_method": r["token_endpoint_auth_method"],
            "redirect_uris": r["redirect_uris"],
            "active_grants": r["active_grants"],
            "created_at": r["created_at"],
            "last_used_at": r["last_used_at"],
        }
        for r in rows
    ]
    text = _table(
        ["CLIENT ID", "NAME", "STATUS", "REGISTERED BY", "AUTH", "GRANTS", "CREATED", "LAST USED"],
        [
            [
                i["client_id"],
                i["name"],
                i["status"],
                i["registration"],
                i["auth_method"],
                str(i["active_grants"]),
                _when(i["created_at"]),
                _when(i["last_used_at"]),
            ]
            for i in items
        ],
    )
    return {"clients": items}, text


async def _list_users(ctx: Context) -> Result:
    from app.auth.users import list_users

    db = await ctx.db()
    rows: list[dict[str, Any]] = []
    while page := await list_users(db, limit=500, offset=len(rows)):
        rows += page
    items = [
        {
            "id": r["id"],
            "email": r["email"],
            "role": "operator" if r["is_admin"] else "user",
            "status": "disabled" if r["disabled"] else "enabled",
            "has_password": r["has_password"],
            "api_keys": r["api_keys"],
            "active_grants": r["active_grants"],
            "created_at": r["created_at"],
            "last_login_at": r["last_login_at"],
        }
        for r in rows
    ]
    text = _table(
        ["ID", "EMAIL", "ROLE", "STATUS", "PASSWORD", "KEYS", "GRANTS", "CREATED", "LAST SIGN-IN"],
        [
            [
                str(i["id"]),
                i["email"],
                i["role"],
                i["status"],
                "yes" if i["has_password"] else "no",
                str(i["api_keys"]),
                str(i["active_grants"]),
                _when(i["created_at"]),
                _when(i["last_login_at"]),
            ]
            for i in items
        ],
    )
    return {"users": items}, text


def _list_keys_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--user", metavar="EMAIL", help="only this user's keys")


def _key_status(row: dict[str, Any], now: datetime) -> str:
    if row["revoked_at"] is not None:
        return "revoked"
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return "expired"
    return "user disabled" if row["user_disabled"] else "active"


async def _list_api_keys(ctx: Context) -> Result:
    from app.auth.api_keys import list_api_keys
    from app.auth.users import get_user_by_email

    db = await ctx.db()
    user_id = None
    if ctx.args.user:
        user = await get_user_by_email(db, ctx.args.user)
        if user is None:
            raise CommandError(f"no user with email {ctx.args.user.strip()}")
        user_id = user["id"]
    now = datetime.now(UTC)
    items = [
        {
            "id": r["id"],
            "name": r["name"],
            "prefix": r["prefix"],
            "user": r["email"],
            "status": _key_status(r, now),
            "created_at": r["created_at"],
            "last_used_at": r["last_used_at"],
            "expires_at": r["expires_at"],
            "revoked_at": r["revoked_at"],
        }
        for r in await list_api_keys(db, user_id)
    ]
    text = _table(
        ["ID", "PREFIX", "NAME", "USER", "STATUS", "CREATED", "LAST USED"],
        [
            [
                str(i["id"]),
                i["prefix"] + "...",
                i["name"],
                i["user"],
                i["status"],
                _when(i["created_at"]),
                _when(i["last_used_at"]),
            ]
            for i in items
        ],
    )
    return {"api_keys": items}, text


COMMANDS = [
    Command(
        "register-client",
        "register an OAuth client; prints client_id and (confidential clients) client_secret",
        _register_client,
        _register_client_args,
    ),
    Command(
        "rotate-secret",
        "issue a new client secret; the old one keeps working for SECRET_ROTATION_GRACE seconds",
        _rotate_secret,
        _rotate_args,
    ),
    Command("create-api-key", "create an API key (sl_...) for a user; printed once", _create_api_key, _create_key_args),
    Command(
        "revoke-api-key",
        "revoke an API key by its id (an already revoked key is reported, exit 0)",
        _revoke_api_key,
        _revoke_key_args,
    ),
    Command(
        "list-clients",
        "list the OAuth clients: client_id, name, status, how registered, last used",
        _list_clients,
        no_options,
    ),
    Command("list-users", "list the users: id, email, role, status, API keys, last sign-in", _list_users, no_options),
    Command(
        "list-api-keys",
        "list API keys (all, or one user's): id, prefix, name, status, last used",
        _list_api_keys,
        _list_keys_args,
    ),
]
