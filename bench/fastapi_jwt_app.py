"""FastAPI with a bearer JWT on `GET /todos/{id}`, as FastAPI's docs teach it: an `HTTPBearer`
dependency that decodes the token with PyJWT (HS256, `exp` required). Answers from the same
in-memory store as bench/fastapi_app.py."""

from __future__ import annotations

from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from bench.bearer import SECRET
from bench.fastapi_app import TodoWithRelations, store

app = FastAPI(title="todo", openapi_url=None, docs_url=None, redoc_url=None)
bearer = HTTPBearer()


def principal(credentials: Annotated[HTTPAuthorizationCredentials, Depends(bearer)]) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(credentials.credentials, SECRET, algorithms=["HS256"],
                                            options={"require": ["exp"]})
    except jwt.PyJWTError as exc:
        raise HTTPException(401, "Invalid token", headers={"WWW-Authenticate": "Bearer"}) from exc
    return claims


@app.get("/todos/{id}", response_model=TodoWithRelations, response_model_exclude_unset=True)
async def find_by_id(id: int | float, user: Annotated[dict[str, Any], Depends(principal)]) -> Any:
    todo = store.get(id)
    if todo is None:
        raise HTTPException(404, f"Entity not found: Todo with id {id}")
    return todo
