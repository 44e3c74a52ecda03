"""The tokens a login hands out: HS256 JWTs that the spec's `x-jwt` verifies."""

from __future__ import annotations

import time

import jwt


class TokenService:
    def __init__(self, secret: str, *, issuer: str, lifetime: int = 3600) -> None:
        self.secret, self.issuer, self.lifetime = secret, issuer, lifetime

    def issue(self, user: dict[str, object]) -> str:
        now = int(time.time())
        claims = {"sub": str(user["id"]), "email": user["email"], "iss": self.issuer,
                  "aud": self.issuer, "iat": now, "exp": now + self.lifetime}
        return jwt.encode(claims, self.secret, algorithm="HS256")
