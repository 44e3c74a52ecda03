"""The example application's handlers: what `spec/` does not derive, and the rules it adds.

- `summaries.py`: `GET /todo-lists/{id}/summary`, written by hand over injected repositories;
- `todos.py`: `TodoController` (Todo's derived operations, `create` overridden) and
  `TodoRepository` (titles trimmed on every write: REST, nested routes, scripts);
- `timing.py`: the interceptor the spec puts around the summary (`x-interceptors`).

`static` below serves `public/` (the landing page at `/`) where no route of the spec matches.
"""

from pathlib import Path

static = Path(__file__).resolve().parent.parent / "public"
