"""Password hashing with bcrypt, always in a worker thread so the event loop never stalls."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

import bcrypt

MIN_LENGTH = 8
MAX_BYTES = 72  # bcrypt ignores (bcrypt 5 refuses) anything past 72 bytes

# A small dedicated pool: bcrypt at cost 10+ takes tens of milliseconds per call. One core fewer than the machine
# has (at least one): a burst of sign-ins then cannot take every core from the event loop, which keeps answering
# (`make bench-http` prints /healthz latency under 50 sign-ins at once); bcrypt is CPU-bound, so more threads than
# cores would not sign anyone in sooner.
_executor = ThreadPoolExecutor(max_workers=max(1, (os.cpu_count() or 2) - 1), thread_name_prefix="bcrypt")

# Verified against when the account does not exist, so timing does not reveal which emails exist. One per cost:
# a stand-in cheaper or dearer than BCRYPT_ROUNDS would itself tell known and unknown emails apart.
_DUMMY_HASHES: dict[int, bytes] = {}


class PasswordRejected(ValueError):
    """The password does not meet the policy; the message says why."""


def check_policy(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise PasswordRejected(f"the password must be at least {MIN_LENGTH} characters long")
    if len(password.encode("utf-8")) > MAX_BYTES:
        raise PasswordRejected(f"the password must be at most {MAX_BYTES} bytes long")


async def hash_password(password: str, rounds: int) -> str:
    check_policy(password)
    loop = asyncio.get_running_loop()
    hashed = await loop.run_in_executor(
        _executor, lambda: bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(rounds=rounds))
    )
    return hashed.decode("ascii")


async def _dummy_hash(rounds: int) -> bytes:
    if rounds not in _DUMMY_HASHES:
        loop = asyncio.get_running_loop()
        _DUMMY_HASHES[rounds] = await loop.run_in_executor(
            _executor, lambda: bcrypt.hashpw(b"not-a-password", bcrypt.gensalt(rounds=rounds))
        )
    return _DUMMY_HASHES[rounds]


async def verify_password(password: str, password_hash: str | None, rounds: int = 10) -> bool:
    """Constant work whether or not there is a hash to check against (`rounds`: the cost new hashes get)."""
    candidate = password.encode("utf-8")[:MAX_BYTES]
    stored = password_hash.encode("ascii") if password_hash else await _dummy_hash(rounds)
    loop = asyncio.get_running_loop()
    try:
        ok = await loop.run_in_executor(_executor, bcrypt.checkpw, candidate, stored)
    except ValueError:
        return False
    return bool(ok) and password_hash is not None
