"""private_key_jwt (RFC 7523): a client that behaves exactly like ChatGPT, and everything an attacker tries.

`ChatGPTLike` publishes ChatGPT's client ID metadata document shape (its own URL as client_id, private_key_jwt,
a jwks_uri) and a JWK set with its own RSA key, over loopback, and signs its assertions with that key.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from typing import Any

import httpx2
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from app.auth.jwks import JwksCache, JwksError
from app.db.tables import oauth_client_assertions, oauth_clients
from tests.helpers_http import CheckedClient
from tests.helpers_mcp import messages, open_session, request_body, session_headers
from tests.helpers_oauth import (
    ASSERTION_TYPE,
    CHATGPT,
    ChatGPTLike,
    Client,
    exchange,
    form_fields,
    get_code,
    pkce,
    public_jwk,
    refresh,
)
from tests.helpers_server import ROOT, free_port, wait_ready

pytestmark = pytest.mark.usefixtures("fresh_registration_budget")
KEY = "private_key_jwt"


@pytest.fixture
def token_url(settings) -> str:
    return f"{settings.issuer}/oauth/token"


def bogus_code_exchange(http: httpx2.Client, auth: dict[str, str], **extra: str) -> httpx2.Response:
    """A token request whose client authentication is what is being tested: a good one gets invalid_grant."""
    return http.post(
        "/oauth/token",
        data={"grant_type": "authorization_code", "code": "mcp_code_unknown", "code_verifier": "v" * 43, **auth},
        headers=extra,
    )


def refused(response: httpx2.Response, fragment: str) -> None:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "invalid_client", body
    assert fragment in body["error_description"], body


def test_discovery_offers_private_key_jwt_with_asymmetric_algorithms_only(http):
    meta = http.get("/.well-known/oauth-authorization-server").json()
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert meta["token_endpoint_auth_signing_alg_values_supported"] == ["RS256", "PS256", "ES256", "EdDSA"]
    assert "private_key_jwt" in meta["introspection_endpoint_auth_methods_supported"]
    assert "private_key_jwt" in meta["revocation_endpoint_auth_methods_supported"]
    assert meta["client_id_metadata_document_supported"] is True


def test_chatgpt_completes_sign_in_token_mcp_call_and_refresh(http, docs, make_user, dbrun, token_url, server):
    chatgpt = ChatGPTLike(docs)
    # The consent page names the client and the host its document was verified on, and where its logo lives.
    _, challenge = pkce()
    page = http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": chatgpt.client_id,
            "redirect_uri": CHATGPT,
            "state": "s1",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "resource": f"{server.url}/mcp",
        },
    )
    assert page.status_code == 200, page.text
    assert "ChatGPT" in page.text and f"127.0.0.1:{docs.port}" in page.text
    assert "persistent.oaistatic.com" in page.text and "verified domain" in page.text
    assert "email" in form_fields(page.text)

    code, verifier, _ = get_code(http, chatgpt.as_client, make_user()["email"])
    r = exchange(http, chatgpt.client(token_url), code, verifier)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["access_token"].startswith("mcp_token_") and tokens["refresh_token"].startswith("mcp_refresh_")
    row = dbrun(lambda db: db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.client_id == chatgpt.client_id)))
    assert row["token_endpoint_auth_method"] == "private_key_jwt" and row["jwks_uri"].endswith("/oauth/jwks.json")
    assert row["registration_source"] == "metadata_document"

    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    session = open_session(http, bearer)
    call = http.post(
        "/mcp",
        json=request_body("tools/call", {"name": "server_info", "arguments": {}}),
        headers=session_headers(bearer, session),
    )
    assert call.status_code == 200, call.text
    replies = messages(call.text) if "event-stream" in call.headers["Content-Type"] else [call.json()]
    (reply,) = [m for m in replies if m.get("id") == 2]
    assert not reply["result"].get("isError") and reply["result"]["content"], reply

    # Refresh with a new assertion (aud = the issuer this time, which RFC 7523 also allows).
    r = refresh(http, chatgpt.client(server.settings.issuer), tokens["refresh_token"])
    assert r.status_code == 200, r.text
    renewed = r.json()
    assert renewed["refresh_token"] != tokens["refresh_token"]

    # Introspection and revocation accept the assertion too (aud = the endpoint it is sent to).
    r = http.post(
        "/oauth/introspect",
        data={"token": renewed["access_token"], **chatgpt.auth(f"{server.settings.issuer}/oauth/introspect")},
    )
    assert r.status_code == 200 and r.json()["active"] is True and r.json()["client_id"] == chatgpt.client_id
    r = http.post("/oauth/revoke", data={"token": renewed["refresh_token"], **chatgpt.auth(token_url)})
    assert r.status_code == 200, r.text
    gone = http.post("/oauth/introspect", data={"token": renewed["access_token"], **chatgpt.auth(token_url)})
    assert gone.json() == {"active": False}


def test_a_client_that_declared_private_key_jwt_cannot_fall_back_to_none(http, docs):
    chatgpt = ChatGPTLike(docs)
    refused(bogus_code_exchange(http, {"client_id": chatgpt.client_id}), "must authenticate with private_key_jwt")


def test_good_assertion_passes_client_authentication(http, docs, token_url):
    chatgpt = ChatGPTLike(docs)
    r = bogus_code_exchange(http, chatgpt.auth(token_url))
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text


def _hs256_with_public_key(chatgpt: ChatGPTLike, audience: str) -> str:
    """The classic confusion attack: HMAC 'signed' with the RSA public key as the secret."""
    import base64
    import hashlib
    import hmac

    pem = chatgpt.key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signing_input = (
        b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": chatgpt.kid}).encode())
        + "."
        + b64(json.dumps(chatgpt.claims(audience)).encode())
    )
    return signing_input + "." + b64(hmac.new(pem, signing_input.encode(), hashlib.sha256).digest())


def _unsigned(chatgpt: ChatGPTLike, audience: str) -> str:
    # With alg "none" PyJWT signs nothing and takes "" as no key.
    return jwt.encode(chatgpt.claims(audience), "", algorithm="none", headers={"kid": chatgpt.kid})


@pytest.mark.parametrize(
    "case, make, fragment",
    [
        ("wrong key", lambda c, aud: c.assertion(aud, key=rsa.generate_private_key(65537, 2048)), "does not verify"),
        ("expired", lambda c, aud: c.assertion(aud, iat=int(time.time()) - 900, exp=int(time.time()) - 600), "expired"),
        (
            "future nbf",
            lambda c, aud: c.assertion(aud, nbf=int(time.time()) + 600, exp=int(time.time()) + 900),
            "nbf is in the future",
        ),
        (
            "future iat",
            lambda c, aud: c.assertion(aud, iat=int(time.time()) + 600, exp=int(time.time()) + 900),
            "iat is in the future",
        ),
        ("another server", lambda c, aud: c.assertion("https://other.example/oauth/token"), "aud must be"),
        ("no exp", lambda c, aud: c.assertion(aud, exp=None), "lacks the exp claim"),
        ("no jti", lambda c, aud: c.assertion(aud, jti=None), "lacks the jti claim"),
        ("long-lived", lambda c, aud: c.assertion(aud, exp=int(time.time()) + 3600), "at most 600 seconds"),
        ("foreign iss", lambda c, aud: c.assertion(aud, iss="https://evil.example/client.json"), "iss must be"),
        ("alg none", _unsigned, "alg 'none' is not accepted"),
        ("HS256 with the public key", _hs256_with_public_key, "alg 'HS256' is not accepted"),
        (
            "PS256 with a key published for RS256",
            lambda c, aud: c.assertion(aud, alg="PS256"),
            "no key with kid 'key-1' for PS256",
        ),
        ("not a JWT", lambda c, aud: "not-a-jwt", "not an acceptable compact JWS"),
        ("crit header", lambda c, aud: c.assertion(aud, headers={"crit": ["exp"], "exp": 1}), "crit"),
    ],
)
def test_bad_assertions_are_invalid_client(http, docs, token_url, case, make, fragment):
    chatgpt = ChatGPTLike(docs)
    assertion = make(chatgpt, token_url)
    refused(
        bogus_code_exchange(
            http,
            {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion, "client_id": chatgpt.client_id},
        ),
        fragment,
    )


def test_assertion_together_with_a_secret_or_basic_is_invalid_client(http, docs, token_url):
    chatgpt = ChatGPTLike(docs)
    refused(
        bogus_code_exchange(http, {**chatgpt.auth(token_url), "client_secret": "mcp_secret_x"}),
        "one client authentication method",
    )
    refused(
        bogus_code_exchange(http, chatgpt.auth(token_url), Authorization="Basic YTpi"),
        "one client authentication method",
    )
    refused(
        bogus_code_exchange(http, {"client_assertion_type": "urn:example:saml", "client_assertion": "x"}),
        "client_assertion_type must be",
    )
    refused(bogus_code_exchange(http, {"client_assertion_type": ASSERTION_TYPE}), "client_assertion is required")
    refused(
        bogus_code_exchange(http, {**chatgpt.auth(token_url), "client_id": "https://elsewhere.example/c.json"}),
        "differs from the client_assertion's sub",
    )


def test_a_replayed_assertion_is_refused(http, docs, token_url):
    chatgpt = ChatGPTLike(docs)
    auth = chatgpt.auth(token_url)
    assert bogus_code_exchange(http, auth).json()["error"] == "invalid_grant"
    refused(bogus_code_exchange(http, auth), "jti was already used")
    # The same jti in a freshly signed assertion is a replay too.
    jti = json.loads(jwt.utils.base64url_decode(auth["client_assertion"].split(".")[1]))["jti"]
    refused(bogus_code_exchange(http, chatgpt.auth(token_url, jti=jti)), "jti was already used")


def test_a_replay_through_a_second_server_process_is_refused(http, docs, token_url, database_url, tmp_path, server):
    """Two processes behind one public URL share the database: a jti spent on one is spent on the other."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECONDLAYER_DATA_DIR": str(tmp_path),
        "PUBLIC_URL": server.settings.public_url,
        "COOKIE_SECRET": "s" * 40,
        "CLIENT_METADATA_ALLOW_LOOPBACK": "true",
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "info",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        second = f"http://127.0.0.1:{port}"
        wait_ready(second, proc, path="/readyz")
        chatgpt = ChatGPTLike(docs)
        auth = chatgpt.auth(token_url)
        first = bogus_code_exchange(http, auth)
        assert first.json()["error"] == "invalid_grant", first.text
        with CheckedClient(second) as other:
            fresh = bogus_code_exchange(other, chatgpt.auth(token_url))
            assert fresh.json()["error"] == "invalid_grant", fresh.text  # the second process verifies assertions
            refused(bogus_code_exchange(other, auth), "jti was already used")
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    # The operator sees why the connector was refused; the assertion itself never reaches the log.
    assert "jti was already used" in out + err
    assert auth["client_assertion"] not in out + err
    assert auth["client_assertion"].split(".")[2] not in out + err


def test_unknown_kid_fetches_the_keys_again_once_so_rotation_just_works(http, docs, token_url):
    chatgpt = ChatGPTLike(docs)
    assert bogus_code_exchange(http, chatgpt.auth(token_url)).json()["error"] == "invalid_grant"
    assert docs.hits[chatgpt.jwks_path] == 1
    time.sleep(2.1)  # the refetch on an unknown kid is throttled to one per URL every 2 seconds
    chatgpt.rotate()
    r = bogus_code_exchange(http, chatgpt.auth(token_url))
    assert r.json()["error"] == "invalid_grant", r.text
    assert docs.hits[chatgpt.jwks_path] == 2
    # Made-up kids right after do not make us fetch again and again.
    chatgpt.kid = "made-up"
    for _ in range(3):
        refused(bogus_code_exchange(http, chatgpt.auth(token_url)), "no key with kid 'made-up'")
    assert docs.hits[chatgpt.jwks_path] == 2


def test_keys_are_cached_per_their_cache_control(http, docs, token_url):
    chatgpt = ChatGPTLike(docs)
    docs.publish(
        chatgpt.jwks_path,
        {"keys": [public_jwk(chatgpt.key, chatgpt.kid, "RS256")]},
        headers={"Cache-Control": "max-age=600"},
    )
    for _ in range(3):
        assert bogus_code_exchange(http, chatgpt.auth(token_url)).json()["error"] == "invalid_grant"
    assert docs.hits[chatgpt.jwks_path] == 1


@pytest.mark.parametrize(
    "case, fragment",
    [
        ("too large", "could not be fetched"),
        ("redirecting", "HTTP 302"),
        ("not JSON", "not valid JSON"),
        ("no usable key", "no usable signing key"),
        ("too slow", "could not be fetched"),
    ],
)
def test_unusable_jwks_is_invalid_client(http, docs, token_url, case, fragment):
    chatgpt = ChatGPTLike(docs)
    if case == "too large":
        docs.publish(
            chatgpt.jwks_path, {"keys": [public_jwk(chatgpt.key, chatgpt.kid, "RS256")], "padding": "x" * 40000}
        )
    elif case == "redirecting":
        docs.publish(chatgpt.jwks_path, b"", status=302, headers={"Location": "/elsewhere/jwks.json"})
    elif case == "not JSON":
        docs.publish(chatgpt.jwks_path, b"<html>keys</html>")
    elif case == "no usable key":
        docs.publish(chatgpt.jwks_path, {"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": chatgpt.kid}]})
    else:
        docs.delays[chatgpt.jwks_path] = 6  # past the 5 s fetch timeout
    started = time.monotonic()
    refused(bogus_code_exchange(http, chatgpt.auth(token_url)), fragment)
    assert time.monotonic() - started < 15
    assert http.get("/healthz").status_code == 200  # the server kept serving


def test_jwks_on_a_private_address_is_never_fetched(settings):
    strict = settings.replace(client_metadata_allow_loopback=False)
    cache = JwksCache()
    for uri in (
        "https://localhost:9/jwks.json",
        "https://127.0.0.1/jwks.json",
        "https://[::1]/jwks.json",
        "http://127.0.0.1:9/jwks.json",
    ):
        with pytest.raises(JwksError):
            asyncio.run(cache.keys(uri, strict))


def test_document_with_bad_keys_is_refused_at_authorize(http, docs):
    chatgpt = ChatGPTLike(docs, jwks_uri=None)
    _, challenge = pkce()
    r = http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": chatgpt.client_id,
            "redirect_uri": CHATGPT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 400 and "declares private_key_jwt" in r.text
    both = ChatGPTLike(docs, jwks={"keys": []})
    r = http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": both.client_id,
            "redirect_uri": CHATGPT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 400 and "not both" in r.text
    hmac_alg = ChatGPTLike(docs, token_endpoint_auth_signing_alg="HS256")
    r = http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": hmac_alg.client_id,
            "redirect_uri": CHATGPT,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
    )
    assert r.status_code == 400 and "HS256" in r.text


def test_a_none_document_that_offers_keys_may_use_either(http, docs, token_url):
    """Claude-style `none`, plus private_key_jwt offered: what the client sends decides, never less than none."""
    client = ChatGPTLike(docs, token_endpoint_auth_method="none")
    assert bogus_code_exchange(http, {"client_id": client.client_id}).json()["error"] == "invalid_grant"
    assert bogus_code_exchange(http, client.auth(token_url)).json()["error"] == "invalid_grant"
    refused(
        bogus_code_exchange(http, client.auth(token_url, key=rsa.generate_private_key(65537, 2048))), "does not verify"
    )


# ---- dynamic registration and operator registration with private_key_jwt -------------------------------------


def _es256_jwks() -> tuple[Any, dict[str, Any]]:
    key = ec.generate_private_key(ec.SECP256R1())
    return key, {"keys": [public_jwk(key, "ec-1", "ES256")]}


def test_dynamic_registration_with_inline_jwks_then_es256_and_eddsa_assertions(http, make_user, token_url):
    ec_key, jwks = _es256_jwks()
    ed_key = ed25519.Ed25519PrivateKey.generate()
    jwks["keys"].append(public_jwk(ed_key, "ed-1", "EdDSA"))
    r = http.post(
        "/oauth/register",
        json={
            "client_name": "Signed",
            "redirect_uris": [CHATGPT],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": jwks,
        },
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert "client_secret" not in body and body["token_endpoint_auth_method"] == "private_key_jwt"
    assert [k["kid"] for k in body["jwks"]["keys"]] == ["ec-1", "ed-1"]
    client_id = body["client_id"]
    code, verifier, _ = get_code(http, Client(client_id, None, CHATGPT, KEY, 0), make_user()["email"])

    def signed(key: Any, kid: str, alg: str) -> dict[str, str]:
        now = int(time.time())
        claims = {
            "iss": client_id,
            "sub": client_id,
            "aud": token_url,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_hex(8),
        }
        return {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": jwt.encode(claims, key, algorithm=alg, headers={"kid": kid}),
        }

    r = exchange(
        http, Client(client_id, None, CHATGPT, KEY, 0, sign=lambda: signed(ec_key, "ec-1", "ES256")), code, verifier
    )
    assert r.status_code == 200, r.text
    ed_client = Client(client_id, None, CHATGPT, KEY, 0, sign=lambda: signed(ed_key, "ed-1", "EdDSA"))
    r = refresh(http, ed_client, r.json()["refresh_token"])
    assert r.status_code == 200, r.text
    # A secret-style request from this client is refused: it registered for keys.
    refused(
        http.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": "x",
                "client_id": client_id,
                "client_secret": "guess",
            },
        ),
        "must authenticate with private_key_jwt",
    )


@pytest.mark.parametrize(
    "extra, fragment",
    [
        ({}, "needs the client's public keys"),
        ({"jwks": {"keys": []}, "jwks_uri": "https://example.com/jwks.json"}, "not both"),
        ({"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}, "'oct' is not accepted"),
        ({"jwks": "not a set"}, "JSON object"),
        ({"jwks_uri": "ftp://example.com/jwks.json"}, "https"),
        ({"jwks_uri": "https://example.com/jwks.json", "token_endpoint_auth_signing_alg": "HS256"}, "RS256"),
    ],
)
def test_dynamic_registration_refuses_unusable_keys(http, dbrun, extra, fragment):
    before = dbrun(lambda db: db.fetch_value(sa.select(sa.func.count()).select_from(oauth_clients)))
    r = http.post(
        "/oauth/register",
        json={
            "client_name": "Bad keys",
            "redirect_uris": [CHATGPT],
            "token_endpoint_auth_method": "private_key_jwt",
            **extra,
        },
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"] == "invalid_client_metadata" and fragment in r.json()["error_description"]
    assert dbrun(lambda db: db.fetch_value(sa.select(sa.func.count()).select_from(oauth_clients))) == before


def test_dynamic_registration_refuses_private_key_material(http):
    key = rsa.generate_private_key(65537, 2048)
    private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    r = http.post(
        "/oauth/register",
        json={
            "client_name": "Leaky",
            "redirect_uris": [CHATGPT],
            "token_endpoint_auth_method": "private_key_jwt",
            "jwks": {"keys": [private]},
        },
    )
    assert r.status_code == 400 and "private" in r.json()["error_description"]


def test_register_client_command_takes_a_jwks_file_or_uri(cli, tmp_path):
    _, jwks = _es256_jwks()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks))
    out = cli(
        "register-client",
        "--name",
        "Signed CLI",
        "--redirect-uri",
        CHATGPT,
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        str(path),
        "--json",
    )
    assert out.returncode == 0, out.stderr
    body = json.loads(out.stdout)
    assert body["client_secret"] is None and body["token_endpoint_auth_method"] == "private_key_jwt"
    assert body["jwks_keys"] == 1
    out = cli(
        "register-client",
        "--name",
        "By URL",
        "--redirect-uri",
        CHATGPT,
        "--auth-method",
        "private_key_jwt",
        "--jwks-uri",
        "https://keys.example.com/jwks.json",
    )
    assert out.returncode == 0 and "keys published at:  https://keys.example.com/jwks.json" in out.stdout
    out = cli("register-client", "--name", "No keys", "--redirect-uri", CHATGPT, "--auth-method", "private_key_jwt")
    assert out.returncode == 1 and "needs the client's public keys" in out.stderr
    out = cli("register-client", "--name", "Mixed", "--redirect-uri", CHATGPT, "--jwks-uri", "https://k.example/j")
    assert out.returncode == 1 and "go with --auth-method private_key_jwt" in out.stderr
    path.write_text("{not json")
    out = cli(
        "register-client",
        "--name",
        "Broken",
        "--redirect-uri",
        CHATGPT,
        "--auth-method",
        "private_key_jwt",
        "--jwks-file",
        str(path),
    )
    assert out.returncode == 1 and "is not JSON" in out.stderr


def test_cleanup_forgets_expired_assertion_ids(dbrun):
    from app.jobs import run_cleanup

    dbrun(
        lambda db: db.execute(
            oauth_client_assertions.insert().values(
                client_id="https://old.example/c.json",
                jti_hash="0" * 64,
                expires_at=sa.func.now() - sa.text("interval '1 minute'"),
            )
        )
    )
    result = dbrun(lambda db: run_cleanup(db, "test", audit_retention_days=365))
    assert result.details["client_assertions"] >= 1
    left = dbrun(
        lambda db: db.fetch_value(
            sa.select(sa.func.count())
            .select_from(oauth_client_assertions)
            .where(oauth_client_assertions.c.expires_at < sa.func.now())
        )
    )
    assert left == 0


def test_a_document_may_carry_its_keys_inline(http, docs, token_url, dbrun):
    client = ChatGPTLike(docs)
    client.document = {**client.document, "jwks": {"keys": [public_jwk(client.key, client.kid, "RS256")]}}
    del client.document["jwks_uri"]
    docs.publish(f"{client.prefix}/oauth/client.json", client.document)
    assert bogus_code_exchange(http, client.auth(token_url)).json()["error"] == "invalid_grant"
    assert client.jwks_path not in docs.hits  # nothing fetched but the document
    row = dbrun(lambda db: db.fetch_one(sa.select(oauth_clients).where(oauth_clients.c.client_id == client.client_id)))
    assert row["jwks"]["keys"][0]["kid"] == client.kid and row["jwks_uri"] is None
    refused(
        bogus_code_exchange(http, client.auth(token_url, key=rsa.generate_private_key(65537, 2048))), "does not verify"
    )
