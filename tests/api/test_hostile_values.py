"""The stored-values catalogue, end to end over `spec/` on SQLite, PostgreSQL and MariaDB: values a
column could take but not give back as sent (or that only some databases take), and the answer
each gets instead, the same everywhere and before anything is stored.

- A `tag` nested 17 levels, and the 253 and 254 that once made every later `GET /todos` (or the
  create itself) a 500: 422 `INVALID_VALUE` naming CHARTER_MAX_JSON_DEPTH and the pointer, on
  POST, PUT, PATCH, updateAll and a relation's create and PATCH. 16 levels are kept.
- A `tag` of 2^64 (once silently a float), 2^64+1 inside arrays, -2^63-1, 1e300: 422
  `VALIDATION_FAILED` at the number's pointer. 2^64-1 and -2^63 come back exact.
- A NUL in a title (stored by SQLite and MariaDB, refused by PostgreSQL alone): 422
  `VALIDATION_FAILED` (`pattern`) everywhere. A NUL inside `tag` is JSON's to escape, and kept.
- A 1 MB title (refused by MariaDB's TEXT alone): 422 (`maxLength` 16383, published). 16383
  four-byte characters are kept.
- If-Match empty, unquoted, or two tags without a comma: 400 `INVALID_PARAMETER_VALUE`
  (`pattern`). A stale or weak tag is 412; `*` passes.
- The same values written through the repository, as a handler would: 422 `INVALID_VALUE` with
  the same details.
- CHARTER_MAX_JSON_DEPTH=2 refuses a third level; 32, past what MariaDB keeps, stops the start.

Each answer is compared whole and within a time bound. The example runs with its defaults.
"""

from __future__ import annotations

import itertools
import json
import time
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.app import App, ContractError
from server.errors import UnprocessableEntity
from server.settings import Settings
from tests.api.conftest import ROOT
from tests.client import Client
from tests.databases import DIALECTS

SECONDS = 10.0
"""Each request's time bound: generous for a loaded machine."""
DEPTH = 16
"""CHARTER_MAX_JSON_DEPTH's default."""
TEXT = 16383
"""The published maxLength of a string without one."""
NUL_FREE = "^[^\\u0000]*$"
INVALID_BODY = ("The request body is invalid. See error object `details` property for more "
                "info.")
IF_MATCH = ('^(?:\\*|(?:W/)?"[\\x21\\x23-\\x7E\\x80-\\xFF]*"(?:[ \\t]*,[ \\t]*(?:W/)?"'
            '[\\x21\\x23-\\x7E\\x80-\\xFF]*")*)$')

LIST = {"id": 1, "title": "home"}
MILK = {"id": 1, "title": "milk", "tag": {"labels": ["dairy"]}, "todoListId": 1}


@pytest.fixture(params=DIALECTS)
def database(request: pytest.FixtureRequest) -> str:
    """Every test here runs on each database (overrides conftest's SQLite-only fixture)."""
    return str(request.param)


@pytest.fixture
def seeded(client: Client) -> Client:
    assert call(client, "POST", "/todo-lists", {"title": LIST["title"]}).json() == LIST
    body = {k: v for k, v in MILK.items() if k != "id"}
    assert call(client, "POST", "/todos", body).json() == MILK
    return client


def call(client: Client, method: str, url: str, body: Any = None, *, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> httpx.Response:
    """One request, within the time bound; a body given as Python or as raw JSON bytes."""
    content = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    all_headers = {"content-type": "application/json", **(headers or {})}
    start = time.monotonic()
    response = client.request(method, url, content=content, headers=all_headers)
    assert time.monotonic() - start < SECONDS, (method, url)
    return response


def nested(levels: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(levels):
        value = [value]
    return value


def error(status: int, name: str, message: str, code: str,
          details: list[dict[str, Any]]) -> dict[str, Any]:
    return {"error": {"statusCode": status, "name": name, "message": message, "code": code,
                      "details": details}}


def invalid_body(*details: dict[str, Any]) -> dict[str, Any]:
    return error(422, "UnprocessableEntityError", INVALID_BODY, "VALIDATION_FAILED",
                 list(details))


def too_deep(entity: str = "Todo") -> dict[str, Any]:
    pointer = "/tag" + "/0" * DEPTH
    message = f"must NOT be nested deeper than {DEPTH} levels"
    return error(422, "UnprocessableEntityError",
                 f"{entity} cannot store the value at {pointer}: it {message} "
                 f"(CHARTER_MAX_JSON_DEPTH).", "INVALID_VALUE",
                 [{"path": pointer, "code": "maxDepth", "message": message,
                   "info": {"limit": DEPTH}}])


WRITES = [
    ("POST", "/todos", {"title": "new"}),
    ("PUT", "/todos/1", {"title": "milk"}),
    ("PATCH", "/todos/1", {}),
    ("PATCH", "/todos", {}),
    ("POST", "/todo-lists/1/todos", {"title": "new"}),
    ("PATCH", "/todo-lists/1/todos", {}),
]
"""Every route that writes a Todo: create, replace, update, updateAll, and the relation's two."""


def assert_unchanged(client: Client) -> None:
    """Nothing was stored: the one todo, as it was, and every read still answers."""
    assert call(client, "GET", "/todos").json() == [MILK]
    assert call(client, "GET", "/todo-lists/1/todos").json() == [MILK]
    included = call(client, "GET", "/todo-lists?filter=" + json.dumps({"include": ["todos"]}))
    assert included.json() == [{**LIST, "todos": [MILK]}]


# -- JSON nesting ---------------------------------------------------------------------------------

def test_a_tag_nested_too_deep_is_refused_before_it_is_stored(seeded: Client) -> None:
    for levels in (DEPTH + 1, 253, 254):
        for method, url, body in WRITES:
            response = call(seeded, method, url, {**body, "tag": nested(levels)})
            assert (response.status_code, response.json()) == (422, too_deep()), (url, levels)
    assert_unchanged(seeded)


def test_a_tag_as_deep_as_allowed_is_stored_and_read_back(seeded: Client) -> None:
    tag = {"a": nested(DEPTH - 2, {"b": None})}  # 16 levels: an object, 14 arrays, an object
    created = call(seeded, "POST", "/todos", {"title": "deep", "tag": tag})
    assert created.status_code == 200, created.text
    assert call(seeded, "GET", "/todos/2").json() == {"id": 2, "title": "deep", "tag": tag}
    assert call(seeded, "GET", "/todos").status_code == 200


# -- JSON numbers ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "pointer", "code", "limit"), [
    (b'{"title": "big", "tag": 18446744073709551616}', "/tag", "maximum", 2**64 - 1),
    (b'{"title": "big", "tag": {"n": [[18446744073709551617]]}}', "/tag/n/0/0", "maximum",
     2**64 - 1),
    (b'{"title": "big", "tag": [-9223372036854775809]}', "/tag/0", "minimum", -(2**63)),
    (b'{"title": "big", "tag": 1e300}', "/tag", "maximum", 2**64 - 1),
])
def test_a_number_json_cannot_keep_is_refused(seeded: Client, raw: bytes, pointer: str,
                                              code: str, limit: int) -> None:
    comparison = "<=" if code == "maximum" else ">="
    detail = {"path": pointer, "code": code, "message": f"must be {comparison} {limit}",
              "info": {"comparison": comparison, "limit": limit}}
    for method, url, _ in WRITES:
        response = call(seeded, method, url, raw=raw)
        assert (response.status_code, response.json()) == (422, invalid_body(detail)), url
    assert_unchanged(seeded)


def test_64_bit_integers_come_back_exact(seeded: Client) -> None:
    raw = b'{"title": "edges", "tag": [18446744073709551615, -9223372036854775808, 0.5]}'
    assert call(seeded, "POST", "/todos", raw=raw).status_code == 200
    read = call(seeded, "GET", "/todos/2")
    assert read.content == (b'{"id":2,"title":"edges","tag":[18446744073709551615,'
                            b'-9223372036854775808,0.5]}')


# -- text -----------------------------------------------------------------------------------------

def test_a_nul_in_text_is_refused_everywhere(seeded: Client) -> None:
    for method, url, body in WRITES:
        response = call(seeded, method, url, {**body, "title": "milk\u0000"})
        assert (response.status_code, response.json()) == (422, invalid_body({
            "path": "/title", "code": "pattern", "message": f'must match pattern "{NUL_FREE}"',
            "info": {"pattern": NUL_FREE}})), url
    assert_unchanged(seeded)


def test_a_nul_inside_json_is_kept(seeded: Client) -> None:
    tag = {"k\u0000": "v\u0000"}
    assert call(seeded, "POST", "/todos", {"title": "nul", "tag": tag}).status_code == 200
    assert call(seeded, "GET", "/todos/2").json()["tag"] == tag


def test_a_1_mb_title_is_refused_everywhere(seeded: Client) -> None:
    for method, url, body in WRITES:
        response = call(seeded, method, url, {**body, "title": "t" * 1_000_000})
        assert (response.status_code, response.json()) == (422, invalid_body({
            "path": "/title", "code": "maxLength",
            "message": f"must NOT have more than {TEXT} characters",
            "info": {"limit": TEXT}})), url
    assert_unchanged(seeded)


def test_the_longest_title_is_kept_in_four_byte_characters(seeded: Client) -> None:
    title = "\U0001f600" * TEXT  # 65,532 bytes of UTF-8: what MariaDB's TEXT holds
    assert call(seeded, "POST", "/todos", {"title": title}).status_code == 200
    assert call(seeded, "GET", "/todos/2").json() == {"id": 2, "title": title}
    too_long = call(seeded, "PATCH", "/todos/2", {"title": title + "x"})
    assert too_long.status_code == 422


# -- If-Match -------------------------------------------------------------------------------------

def test_a_malformed_if_match_is_a_400(seeded: Client) -> None:
    for value, (method, body) in itertools.product(
            ["", "abc", '"a" "b"', '"a",', "W/", '"a b"'],
            [("PATCH", {"title": "x"}), ("PUT", {"title": "x"}), ("DELETE", None)]):
        response = call(seeded, method, "/todos/1", body, headers={"If-Match": value})
        assert (response.status_code, response.json()) == (400, {"error": {
            "statusCode": 400, "name": "BadRequestError",
            "message": f'Invalid data {json.dumps(value)} for parameter "If-Match".',
            "code": "INVALID_PARAMETER_VALUE",
            "details": [{"path": "", "code": "pattern",
                         "message": f'must match pattern "{IF_MATCH}"',
                         "info": {"pattern": IF_MATCH}}]}}), (method, value)
    assert_unchanged(seeded)


def test_a_well_formed_if_match_is_412_when_stale(seeded: Client) -> None:
    etag = call(seeded, "GET", "/todos/1").headers["etag"]
    for stale in ('"0"', f"W/{etag}", f'"0", W/{etag}'):
        response = call(seeded, "PATCH", "/todos/1", {"title": "x"}, headers={"If-Match": stale})
        assert response.status_code == 412, stale
    changed = call(seeded, "PATCH", "/todos/1", {"title": "oat milk"},
                   headers={"If-Match": f'"0", {etag}'})
    assert changed.status_code == 204
    assert call(seeded, "PATCH", "/todos/1", {"title": "milk"},
                headers={"If-Match": "*"}).status_code == 204


# -- the repository, as a handler uses it ----------------------------------------------------------

REFUSED = [
    ({"title": "x", "tag": nested(DEPTH + 1)},
     {"path": "/tag" + "/0" * DEPTH, "code": "maxDepth",
      "message": f"must NOT be nested deeper than {DEPTH} levels", "info": {"limit": DEPTH}}),
    ({"title": "x", "tag": {"n": 2**70}},
     {"path": "/tag/n", "code": "maximum", "message": f"must be <= {2**64 - 1}",
      "info": {"comparison": "<=", "limit": 2**64 - 1}}),
    ({"title": "x\u0000"},
     {"path": "/title", "code": "pattern", "message": f'must match pattern "{NUL_FREE}"',
      "info": {"pattern": NUL_FREE}}),
    ({"title": "t" * (TEXT + 1)},
     {"path": "/title", "code": "maxLength",
      "message": f"must NOT have more than {TEXT} characters", "info": {"limit": TEXT}}),
]


def test_the_repository_refuses_the_same(app: App, seeded: Client) -> None:
    todos = app.services["todo_repository"]
    for data, detail in REFUSED:
        for write in (todos.create, partial(todos.update_by_id, 1),
                      partial(todos.replace_by_id, 1), todos.update_all):
            with pytest.raises(UnprocessableEntity) as caught:  # the schema's, or storage's
                write(data)
            assert caught.value.details == [detail]
    assert_unchanged(seeded)


# -- the setting ----------------------------------------------------------------------------------

def settings(folder: Path, depth: str) -> Settings:
    return Settings.from_env({"CHARTER_MAX_JSON_DEPTH": depth}, spec=ROOT / "spec",
                             handlers="handlers", database_url=f"sqlite:///{folder}/app.db",
                             migrate=True)


def test_the_depth_is_the_settings(tmp_path: Path) -> None:
    app = App(settings(tmp_path, "2"))
    try:
        with Client(app) as client:
            assert call(client, "POST", "/todos", {"title": "t", "tag": [[1]]}).status_code == 200
            refused = call(client, "POST", "/todos", {"title": "t", "tag": {"a": [[1]]}})
            assert refused.status_code == 422
            assert refused.json()["error"]["details"] == [{
                "path": "/tag/a/0", "code": "maxDepth",
                "message": "must NOT be nested deeper than 2 levels", "info": {"limit": 2}}]
    finally:
        app.close()


def test_a_depth_past_what_mariadb_keeps_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(ContractError) as caught:
        App(settings(tmp_path, "32"))
    assert caught.value.problems == [
        f"the database at sqlite:///{tmp_path}/app.db cannot be opened: ValueError: "
        f"CHARTER_MAX_JSON_DEPTH is 32: it must be between 1 and 31, the deepest JSON MariaDB "
        f"keeps"]
