"""Handlers of LoopBack's todo-jwt example: users sign up and log in (`users.py`), with their
passwords hashed by argon2 (`passwords.py`); the todos are derived from the spec."""

from __future__ import annotations

import os
from typing import Any

from server import Repositories, Settings

from .passwords import Passwords
from .tokens import TokenService


def services(settings: Settings, repositories: Repositories | None) -> dict[str, Any]:
    # JWT_SECRET: the spec's x-jwt checked at start-up that it is set and long enough.
    return {"passwords": Passwords(),
            "tokens": TokenService(os.environ.get("JWT_SECRET", ""), issuer="todo-jwt")}
