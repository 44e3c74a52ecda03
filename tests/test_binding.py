"""Binding operationIds to handler methods, arguments and dependencies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from server.binding import (
    Handlers,
    SpecArguments,
    argument_candidates,
    bind,
    python_name,
    unbound_handlers,
)
from server.requests import Request

FIXTURES = Path(__file__).parent / "fixtures" / "handlers"


@pytest.fixture(scope="module")
def handlers() -> Handlers:
    with pytest.MonkeyPatch.context() as patch:
        patch.syspath_prepend(str(FIXTURES))
        return Handlers("bindtest_handlers")


def args(*parameters: tuple[str, str, bool], body: bool = False) -> SpecArguments:
    return SpecArguments(label="GET /x (operationId 'op')", parameters=parameters, has_body=body)


def call(binding: Any, kwargs: dict[str, Any]) -> Any:
    request = Request({"type": "http"}, b"", "r1", {"greeting": "hello"})

    async def run() -> Any:
        return await binding.invoke(request, kwargs)

    return anyio.run(run)


def test_python_names() -> None:
    assert python_name("isComplete") == "is_complete"
    assert python_name("X-Request-ID") == "x_request_id"
    assert python_name("HTMLPage") == "html_page"
    assert python_name("1st") == "p_1st"
    assert argument_candidates("filter") == ("filter_", "filter")
    assert argument_candidates("class") == ("class_",)
    assert argument_candidates("userId") == ("user_id",)


def test_class_method_binding_with_injection_and_async(handlers: Handlers) -> None:
    binding, problems = bind(
        {"operationId": "WidgetController.find"},
        args(("filter", "query", False), ("isComplete", "query", False)),
        handlers, {"greeting"})
    assert problems == []
    assert binding is not None
    assert binding.target == "bindtest_handlers.widgets.WidgetController.find"
    assert dict(binding.arguments) == {"filter": "filter_", "isComplete": "is_complete"}
    assert call(binding, {"filter_": {"limit": 1}}) == {
        "filter": {"limit": 1}, "is_complete": None, "greeting": "hello"}


def test_camel_case_method_and_sync_in_thread(handlers: Handlers) -> None:
    binding, problems = bind({"operationId": "WidgetController.findById"},
                             args(("id", "path", True)), handlers, {"greeting"})
    assert problems == [] and binding is not None
    assert dict(binding.arguments) == {"id": "id_"}
    assert call(binding, {"id_": 7}) == {"id": 7}
    binding, problems = bind({"operationId": "WidgetController.updateById"},
                             args(("id", "path", True), body=True), handlers, {"greeting"})
    assert problems == [] and binding is not None
    assert dict(binding.arguments) == {"id": "id", "body": "body"}


def test_loopback_extensions(handlers: Handlers) -> None:
    binding, problems = bind(
        {"operationId": "anything", "x-controller-name": "WidgetController",
         "x-operation-name": "findById"},
        args(("id", "path", True)), handlers, {"greeting"})
    assert problems == [] and binding is not None
    assert binding.target.endswith("WidgetController.findById")


def test_connexion_styles(handlers: Handlers) -> None:
    binding, problems = bind({"operationId": "widgets.plain_function"},
                             args(("limit", "query", False)), handlers, set())
    assert problems == [] and binding is not None
    assert call(binding, {"limit": 3}) == {"limit": 3}
    binding, problems = bind({"operationId": "list_pets", "x-openapi-router-controller":
                              "sub.router"}, args(("class", "query", False)), handlers, set())
    assert problems == [] and binding is not None
    assert dict(binding.arguments) == {"class": "class_"}
    assert call(binding, {"class_": "dog"}) == ["dog"]


def test_every_problem_is_named(handlers: Handlers) -> None:
    _, problems = bind({"operationId": "Missing.find"}, args(), handlers, set())
    assert problems == [
        "GET /x (operationId 'op'): no handler for operationId 'Missing.find': expected a class "
        "method like `Class.method` or a function `module.function` in package "
        "'bindtest_handlers'"]
    _, problems = bind({"operationId": "WidgetController.nothing"}, args(), handlers, set())
    assert problems == ["GET /x (operationId 'op'): class 'WidgetController' has no method "
                        "'nothing'"]
    _, problems = bind({"operationId": "WidgetController.needs_more"},
                       args(("id", "path", True)), handlers, {"greeting"})
    assert problems == [
        "GET /x (operationId 'op'): bindtest_handlers.widgets.WidgetController.needs_more "
        "requires argument 'extra', which the spec does not supply (spec supplies: id_)"]
    _, problems = bind({"operationId": "Needy.run"}, args(), handlers, {"greeting"})
    assert problems == [
        "GET /x (operationId 'op'): Needy.__init__ needs 'database', which is not a registered "
        "dependency (available: greeting)"]


def test_parameter_name_clash(handlers: Handlers) -> None:
    _, problems = bind({"operationId": "WidgetController.findById"},
                       args(("id", "path", True), ("id", "query", False)), handlers, {"greeting"})
    assert problems == [
        "GET /x (operationId 'op'): parameter clash: query 'id' and path 'id' both bind to "
        "argument 'id_' of bindtest_handlers.widgets.WidgetController.findById"]


@pytest.mark.parametrize(("operation", "problem"), [
    ({"operationId": "WidgetController.fnd"},
     "class 'WidgetController' has no method 'fnd' (did you mean 'find'?)"),
    ({"operationId": "WidgetController.updateByIdd"},
     "class 'WidgetController' has no method 'updateByIdd' or 'update_by_idd' (did you mean "
     "'update_by_id'?)"),
    ({"operationId": "find", "x-controller-name": "WidgetControler"},
     "no class 'WidgetControler' in package 'bindtest_handlers' (did you mean "
     "'WidgetController'?)"),
    ({"operationId": "WidgetControler.find"},
     "no handler for operationId 'WidgetControler.find': expected a class method like "
     "`Class.method` or a function `module.function` in package 'bindtest_handlers' (did you "
     "mean 'WidgetController.find'?)"),
    ({"operationId": "widgets.plain_functon"},
     "no handler for operationId 'widgets.plain_functon': expected a class method like "
     "`Class.method` or a function `module.function` in package 'bindtest_handlers' (did you "
     "mean 'widgets.plain_function'?)"),
    ({"operationId": "list_pet", "x-openapi-router-controller": "sub.router"},
     "no 'list_pet' in x-openapi-router-controller 'sub.router' (did you mean 'list_pets'?)"),
])
def test_a_close_name_is_suggested(handlers: Handlers, operation: dict[str, Any],
                                   problem: str) -> None:
    _, problems = bind(operation, args(), handlers, {"greeting"})
    assert problems == [f"GET /x (operationId 'op'): {problem}"]


def test_unbound_handlers_are_the_rest_of_what_binds(handlers: Handlers) -> None:
    widgets = "bindtest_handlers.widgets"
    assert unbound_handlers(handlers, []) == []
    assert unbound_handlers(handlers, [f"{widgets}.WidgetController.find",
                                       "bindtest_handlers.sub.router.list_pets"]) == [
        f"{widgets}.WidgetController.findById", f"{widgets}.WidgetController.update_by_id",
        f"{widgets}.WidgetController.needs_more"]
    assert unbound_handlers(handlers, [f"{widgets}.plain_function", f"{widgets}.Needy.run"]) == []


def test_a_handlers_folder_is_imported_under_a_name_of_its_own(tmp_path: Path) -> None:
    for project, answer in (("one", 1), ("two", 2)):
        folder = tmp_path / project / "handlers"
        folder.mkdir(parents=True)
        (folder / "__init__.py").write_text("")
        (folder / "helpers.py").write_text(f"ANSWER = {answer}\n")
        (folder / "things.py").write_text(
            "from .helpers import ANSWER\n\n\nclass Things:\n"
            "    def answer(self):\n        return ANSWER\n")
    one, two = (Handlers(str(tmp_path / name / "handlers")) for name in ("one", "two"))
    assert one.package != two.package
    assert one.package.startswith("_charter_handlers_") and one.package.endswith("one_handlers")
    assert [c().answer() for h in (one, two) for c in h.classes["Things"]] == [1, 2]
    assert Handlers(str(tmp_path / "one" / "handlers")).package == one.package  # imported once
    with pytest.raises(ModuleNotFoundError, match="is not a package folder: it has no __init__"):
        Handlers(str(tmp_path / "one"))


@pytest.mark.parametrize("operation_id", ["findPets", "find pets", "find_pets", "FindPets"])
def test_a_bare_operation_id_binds_the_packages_own_function(handlers: Handlers,
                                                              operation_id: str) -> None:
    binding, problems = bind({"operationId": operation_id},
                             args(("limit", "query", False)), handlers, set())
    assert problems == [] and binding is not None
    assert binding.target == "bindtest_handlers.find_pets"
    assert call(binding, {"limit": 1}) == ["cat"]


def test_a_bare_operation_id_without_its_function_names_what_it_looks_for(
        handlers: Handlers) -> None:
    _, problems = bind({"operationId": "findPet"}, args(), handlers, set())
    assert problems == [
        "GET /x (operationId 'op'): no handler for operationId 'findPet': expected a function "
        "'find_pet' in package 'bindtest_handlers' (or a class method `Class.method`, a "
        "function `module.function`) (did you mean 'find_pets'?)"]
