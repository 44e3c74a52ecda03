"""Derived controllers: the built-in implementation of every operation the entities imply.

`derive` marks each operation it adds with `x-charter-derived: {entity, action[, relation]}`.
Unless a handler class answers the same operationId, the operation is bound to one of the
actions below: LoopBack's CrudRestController and relation controllers, over the repositories.
Entity responses carry an `ETag`; `If-Match` on PUT, PATCH and DELETE by id guards against
lost updates (412 when the item changed since it was read).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

import anyio.to_thread

from server.binding import Binding
from server.data.relations import RelationRoutes
from server.data.repository import Item, Repositories, Repository
from server.requests import Request
from server.responses import Response, dump_json

Action = Callable[[dict[str, Any], str | None], Any]
"""`(arguments, If-Match) -> result`: runs in a worker thread, as it blocks on the database."""

_ARGUMENTS = ("id", "filter", "where", "body")


def derived_binding(marker: Mapping[str, Any], repositories: Repositories) -> Binding | None:
    """The binding of a derived operation to its built-in action; None for an unknown marker."""
    action = _action(marker, repositories)
    if action is None:
        return None
    label = f"{marker.get('entity')}.{marker.get('action')}"
    if marker.get("relation"):
        label = f"{marker.get('entity')}.{marker.get('relation')}.{marker.get('action')}"

    async def invoke(request: Request, kwargs: dict[str, Any]) -> Any:
        if_match = request.headers.get("if-match")
        return await anyio.to_thread.run_sync(functools.partial(action, kwargs, if_match))
    return Binding(target=f"(derived) {label}", invoke=invoke,
                   arguments={name: name for name in _ARGUMENTS})


def _action(marker: Mapping[str, Any], repositories: Repositories) -> Action | None:
    entity, name = marker.get("entity"), marker.get("action")
    if not isinstance(entity, str) or entity not in repositories or not isinstance(name, str):
        return None
    relation = marker.get("relation")
    if relation is None:
        crud = _crud_actions(repositories[entity])
        return crud.get(name)
    relations = repositories.entities[entity].relations
    if relation not in relations:
        return None
    return _relation_action(RelationRoutes(repositories, relations[relation]), name)


def _crud_actions(repository: Repository) -> dict[str, Action]:
    """LoopBack's CrudRestController, by method name."""
    def create(args: dict[str, Any], if_match: str | None) -> Response:
        return _entity(*repository.create_tagged(args["body"]))

    def find(args: dict[str, Any], if_match: str | None) -> list[Item]:
        return repository.find(args.get("filter"))

    def count(args: dict[str, Any], if_match: str | None) -> dict[str, int]:
        return {"count": repository.count(args.get("where"))}

    def update_all(args: dict[str, Any], if_match: str | None) -> dict[str, int]:
        return {"count": repository.update_all(args["body"], args.get("where"))}

    def find_by_id(args: dict[str, Any], if_match: str | None) -> Response:
        return _entity(*repository.read_by_id(args["id"], args.get("filter")))

    def update_by_id(args: dict[str, Any], if_match: str | None) -> Response:
        return _no_content(repository.update_by_id(args["id"], args["body"], if_match=if_match))

    def replace_by_id(args: dict[str, Any], if_match: str | None) -> Response:
        return _no_content(repository.replace_by_id(args["id"], args["body"], if_match=if_match))

    def delete_by_id(args: dict[str, Any], if_match: str | None) -> None:
        repository.delete_by_id(args["id"], if_match=if_match)

    return {"create": create, "find": find, "count": count, "updateAll": update_all,
            "findById": find_by_id, "updateById": update_by_id, "replaceById": replace_by_id,
            "deleteById": delete_by_id}


def _relation_action(routes: RelationRoutes, name: str) -> Action | None:
    """LoopBack's relation controllers: find/create/patch/delete, and get for one-to-one."""
    def find(args: dict[str, Any], if_match: str | None) -> list[Item]:
        return routes.find(args["id"], args.get("filter"))

    def get(args: dict[str, Any], if_match: str | None) -> Response:
        return _entity(*routes.get(args["id"], args.get("filter")))

    def create(args: dict[str, Any], if_match: str | None) -> Response:
        return _entity(*routes.create(args["id"], args["body"]))

    def patch(args: dict[str, Any], if_match: str | None) -> dict[str, int]:
        return {"count": routes.patch(args["id"], args["body"], args.get("where"))}

    def delete(args: dict[str, Any], if_match: str | None) -> dict[str, int]:
        return {"count": routes.delete(args["id"], args.get("where"))}

    if name.startswith("get"):  # hasOne's `get`, belongsTo's `getTodoList`
        return get
    return {"find": find, "create": create, "patch": patch, "delete": delete}.get(name)


def _entity(item: Item, etag: str) -> Response:
    return Response.raw(200, {"content-type": "application/json", "etag": etag},
                        dump_json(item))


def _no_content(etag: str) -> Response:
    return Response(None, status=204, headers={"etag": etag})
