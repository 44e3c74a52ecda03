"""Derived controllers: the built-in implementation of every operation the entities imply, as
handler classes that a user subclasses.

`derive` adds each operation as `<Controller>.<action>` (LoopBack's names: `TodoController.create`,
`TodoListTodoController.find`) and marks it `x-charter-derived: {entity, action[, relation]}`.
`DerivedControllers` binds it, unless a plain handler of the package answers the operationId:

- to the package's class of the controller's name, when it subclasses `CrudController` (or
  `RelationController` for a relation route): each method it overrides replaces that one
  operation, and may call `super()`;
- else to the base class itself.

The methods take what a hand-written handler would (`body`, `id_`, `filter_`, `where`,
`if_match` where the operation declares `If-Match`), and return plain data. The binding answers
an entity with the ETag of its stored state, as the repository last read or wrote it during the
call (`repository.etags_seen`); `If-Match` guards PUT, PATCH and DELETE by id (412).

>>> class TodoController(CrudController):                       # in the handlers package
...     def create(self, body: dict[str, Any]) -> dict[str, Any]:
...         return super().create({**body, "title": body["title"].strip()})
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from server.binding import Binding, Handlers, SpecArguments, bind_method, has_handler, python_name
from server.data.derive import DERIVED
from server.data.entities import Item
from server.data.relation_routes import RelationRoutes
from server.data.repository import Repositories, Repository, etags_seen, note_etag
from server.requests import Request
from server.responses import Response


class CrudController:
    """LoopBack's CrudRestController: one entity's eight operations over `self.repository`.

    A subclass in the handlers package named after the controller (`TodoController`) serves
    them all. Its constructor takes injected dependencies by name, as any handler's does;
    `self.repository` (the entity's) is set before it runs.
    """

    repository: Repository

    def create(self, body: dict[str, Any]) -> Item:
        """`POST /todos`: the new item, as stored."""
        return self.repository.create(body)

    def find(self, filter_: dict[str, Any] | None = None) -> list[Item]:
        """`GET /todos`: the items `filter_` selects."""
        return self.repository.find(filter_)

    def count(self, where: dict[str, Any] | None = None) -> dict[str, int]:
        """`GET /todos/count`."""
        return {"count": self.repository.count(where)}

    def update_all(self, body: dict[str, Any],
                   where: dict[str, Any] | None = None) -> dict[str, int]:
        """`PATCH /todos`: how many items `where` matched."""
        return {"count": self.repository.update_all(body, where)}

    def find_by_id(self, id_: Any, filter_: dict[str, Any] | None = None) -> Item:
        """`GET /todos/{id}` (404 when there is none)."""
        return self.repository.find_by_id(id_, filter_)

    def update_by_id(self, id_: Any, body: dict[str, Any], if_match: str | None = None) -> None:
        """`PATCH /todos/{id}`: 204."""
        self.repository.update_by_id(id_, body, if_match=if_match)

    def replace_by_id(self, id_: Any, body: dict[str, Any], if_match: str | None = None) -> None:
        """`PUT /todos/{id}`: 204."""
        self.repository.replace_by_id(id_, body, if_match=if_match)

    def delete_by_id(self, id_: Any, if_match: str | None = None) -> None:
        """`DELETE /todos/{id}`: 204."""
        self.repository.delete_by_id(id_, if_match=if_match)


class RelationController:
    """LoopBack's relation controllers: one relation's nested routes over `self.routes`
    (`/todo-lists/{id}/todos`), `id_` being the source's id. `get` serves a hasOne's and a
    belongsTo's one item (`getTodoList` too, unless a subclass defines `get_todo_list`).

    Subclassed, named and constructed as `CrudController` is.
    """

    routes: RelationRoutes

    def find(self, id_: Any, filter_: dict[str, Any] | None = None) -> list[Item]:
        return self.routes.find(id_, filter_)

    def get(self, id_: Any, filter_: dict[str, Any] | None = None) -> Item:
        item, tag = self.routes.get(id_, filter_)
        note_etag(self.routes.target.entity.name, item.get(self.routes.target.entity.id), tag)
        return item

    def create(self, id_: Any, body: dict[str, Any]) -> Item:
        return self.routes.create(id_, body)

    def patch(self, id_: Any, body: dict[str, Any],
              where: dict[str, Any] | None = None) -> dict[str, int]:
        return {"count": self.routes.patch(id_, body, where)}

    def delete(self, id_: Any, where: dict[str, Any] | None = None) -> dict[str, int]:
        return {"count": self.routes.delete(id_, where)}


class DerivedControllers:
    """The binder of the derived operations (`binding.Binder`), over the repositories."""

    def __init__(self, repositories: Repositories) -> None:
        self.repositories = repositories

    def __call__(self, operation: Mapping[str, Any], args: SpecArguments,
                 handlers: Handlers | None,
                 dependencies: Iterable[str]) -> tuple[Binding | None, list[str]]:
        marker = operation.get(DERIVED)
        if not isinstance(marker, Mapping):
            return None, []
        base, preset, entity = self._base(marker)
        if base is None:
            return None, [f"{args.label}: {DERIVED} {dict(marker)!r} names no built-in action"]
        owner = self._subclass(operation, base, handlers)
        if owner is None:
            if handlers is not None and has_handler(operation, handlers):
                return None, []  # a plain handler of the package answers it
            owner = base
        action = str(marker["action"])
        name = python_name(action)
        if not hasattr(owner, name) and base is RelationController and action.startswith("get"):
            name = "get"  # belongsTo's getTodoList
        if not callable(getattr(owner, name, None)):
            return None, [f"{args.label}: {owner.__name__} has no method {name!r}"]
        overridden = getattr(owner, name) is not getattr(base, name, None)
        label = ".".join(str(marker[key]) for key in ("entity", "relation", "action")
                         if marker.get(key))
        target = None if overridden else f"(derived) {label}"
        binding, problems = bind_method(owner, name, args, dependencies, target=target,
                                        preset=preset)
        if binding is None:
            return None, problems
        id_name = self.repositories.entities[entity].id
        return _answering_with_etags(binding, entity, id_name, operation), []

    def _base(self, marker: Mapping[str, Any]) -> tuple[type | None, dict[str, Any], str]:
        entity, relation = marker.get("entity"), marker.get("relation")
        if not isinstance(entity, str) or entity not in self.repositories:
            return None, {}, ""
        if relation is None:
            known = python_name(str(marker.get("action"))) in vars(CrudController)
            return (CrudController if known else None,
                    {"repository": self.repositories[entity]}, entity)
        relations = self.repositories.entities[entity].relations
        if relation not in relations:
            return None, {}, ""
        routes = RelationRoutes(self.repositories, relations[relation])
        return RelationController, {"routes": routes}, relations[relation].target

    @staticmethod
    def _subclass(operation: Mapping[str, Any], base: type,
                  handlers: Handlers | None) -> type | None:
        """The package's class named after the operation's controller, if it subclasses `base`."""
        name = operation.get("x-controller-name")
        found = handlers.classes.get(str(name), []) if handlers is not None else []
        return found[0] if len(found) == 1 and issubclass(found[0], base) else None


def _answering_with_etags(binding: Binding, entity: str, id_name: str,
                          operation: Mapping[str, Any]) -> Binding:
    """The binding, its result answered with the ETag of the entity it returns: the one with
    the returned item's id, or, for an item without it (`fields`) or no item (a 204), the one
    entity of `entity` the call read or wrote."""
    inner = binding.invoke
    no_content = "204" in (operation.get("responses") or {})

    async def invoke(request: Request, kwargs: dict[str, Any]) -> Any:
        with etags_seen() as seen:
            result = await inner(request, kwargs)
        if not seen or not (isinstance(result, dict) or (result is None and no_content)):
            return result
        tags = [tag for (name, _), tag in seen.items() if name == entity]
        tag = None
        if isinstance(result, dict) and id_name in result:
            tag = seen.get((entity, result[id_name]))
        if tag is None and len(tags) == 1:
            tag = tags[0]
        if tag is None:
            return result
        if result is None:
            return Response(None, status=204, headers={"etag": tag})
        return Response(result, headers={"etag": tag})
    return Binding(target=binding.target, invoke=invoke, arguments=binding.arguments)
