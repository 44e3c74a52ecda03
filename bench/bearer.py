"""The JWT scenario's secret and token, shared by the runner and both apps."""

from __future__ import annotations

import os

import jwt

SECRET = os.environ.get("BENCH_JWT_SECRET") or "bench-secret-of-at-least-32-bytes!!"
TOKEN = jwt.encode({"sub": "1", "exp": 4_102_444_800}, SECRET, algorithm="HS256")  # 2100
