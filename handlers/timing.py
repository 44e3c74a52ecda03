"""The interceptor `spec/openapi.yaml` binds around the summary operation (`x-interceptors`)."""

from __future__ import annotations

import time
from typing import Any

from server import InvocationContext
from server.interceptors import CallNext


class Timing:
    async def measure(self, context: InvocationContext, call_next: CallNext) -> Any:
        """Adds `Server-Timing: handler;dur=<ms>`: the time the handler took."""
        started = time.perf_counter()
        result = await call_next()
        elapsed = (time.perf_counter() - started) * 1000
        context.response_headers["server-timing"] = f"handler;dur={elapsed:.1f}"
        return result
