"""Passwords, hashed with argon2id (argon2-cffi), a few at a time.

One hash takes about 64 MiB and tens of milliseconds of one core, by design. Hashing runs in
worker threads, at most one per core at once (an anyio `CapacityLimiter`); the requests beyond
wait in the event loop, holding no thread, so a flood of logins cannot exhaust memory nor stall
the server's other requests. A login for an email nobody uses still costs one hash, so that its
answer takes as long as a wrong password's.
"""

from __future__ import annotations

import os

import anyio
import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Passwords:
    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self.hasher = hasher or PasswordHasher()
        self._limiter: anyio.CapacityLimiter | None = None
        self._nobody = self.hasher.hash(os.urandom(16).hex())  # what an unknown email checks

    @property
    def limiter(self) -> anyio.CapacityLimiter:
        if self._limiter is None:  # made in the event loop that serves
            self._limiter = anyio.CapacityLimiter(os.cpu_count() or 1)
        return self._limiter

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(self.hasher.hash, password, limiter=self.limiter)

    async def verify(self, stored: str | None, password: str) -> bool:
        """Whether `password` is the one `stored` hashes; None (no such user) checks a hash of
        nothing known, in the same time, and is False."""
        def check() -> bool:
            try:
                return self.hasher.verify(stored or self._nobody, password) and stored is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                return False
        return await anyio.to_thread.run_sync(check, limiter=self.limiter)
