"""`POST /signup`, `POST /users/login` and `GET /whoAmI`: LoopBack's UserController."""

from __future__ import annotations

from typing import Any

from server import InvalidCredentials, InvalidParameterValue, Principal, Repository

from .passwords import Passwords
from .tokens import TokenService


class UserController:
    def __init__(self, user_repository: Repository, passwords: Passwords,
                 tokens: TokenService) -> None:
        self.users = user_repository
        self.passwords = passwords
        self.tokens = tokens

    async def signup(self, body: dict[str, Any]) -> dict[str, Any]:
        """A new user (409 when the email is taken: the unique index says so)."""
        hashed = await self.passwords.hash(body["password"])
        user = self.users.create({"email": body["email"], "password": hashed})
        return {"id": user["id"], "email": user["email"]}

    async def login(self, body: dict[str, Any]) -> dict[str, str]:
        """A token for a known email and its password; the same 401 for any mistake."""
        try:
            user = self.users.find_one({"where": {"email": body["email"]}})
        except InvalidParameterValue:  # an email no column can hold (a NUL): no user has it
            user = None
        # The hash is hidden: only a read of the stored item, which no response carries, has it.
        stored = self.users.stored_by_id(user["id"])["password"] if user is not None else None
        if user is None or not await self.passwords.verify(stored, body["password"]):
            raise InvalidCredentials("Invalid email or password.")
        return {"token": self.tokens.issue(user)}

    def who_am_i(self, principal: Principal) -> str:
        return str(principal.id)
