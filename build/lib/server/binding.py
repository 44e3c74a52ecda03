"""Binding: each operationId to a handler method, with its arguments and dependencies resolved.

Handlers are plain classes (or functions) in a package. For every request the bound class is
instantiated with the dependencies its constructor names, and the method is called with keyword
arguments named after the spec's parameters.
"""

from __future__ import annotations

import builtins
import difflib
import functools
import importlib
import importlib.util
import inspect
import keyword
import os
import pkgutil
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio.to_thread

from server.requests import Request

BODY = "body"
PRINCIPAL = "principal"
"""The argument a handler takes who made the request by (unless a spec parameter is named so)."""
_BUILTINS = frozenset(dir(builtins))


def python_name(name: str) -> str:
    """The snake_case argument name for a spec parameter name.

    >>> python_name("isComplete"), python_name("X-Request-ID"), python_name("HTMLPage")
    ('is_complete', 'x_request_id', 'html_page')
    """
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"\W+", "_", name).strip("_").lower()
    if not name or name[0].isdigit():
        name = f"p_{name}"
    return name


def argument_candidates(name: str) -> tuple[str, ...]:
    """Names an argument may take: `filter` may be `filter` or `filter_`; `class` only `class_`."""
    snake = python_name(name)
    if keyword.iskeyword(snake):
        return (f"{snake}_",)
    if snake in _BUILTINS:
        return (f"{snake}_", snake)
    return (snake,)


def _is_folder(package: str) -> bool:
    return "/" in package or os.sep in package or package.startswith(".")


def _import_folder(folder: Path) -> str:
    """Import the package in `folder` under a private name made of its resolved path; return
    that name."""
    folder = folder.resolve()
    name = "_charter_handlers_" + re.sub(r"\W", "_", str(folder)).strip("_")
    if name in sys.modules:
        return name
    init = folder / "__init__.py"
    if not init.is_file():
        raise ModuleNotFoundError(f"{folder} is not a package folder: it has no __init__.py",
                                  name=str(folder))
    spec = importlib.util.spec_from_file_location(name, init,
                                                  submodule_search_locations=[str(folder)])
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return name


@dataclass(frozen=True)
class SpecArguments:
    """What the spec supplies to one operation: its parameters `(name, in, required)`, and a body."""

    label: str
    parameters: tuple[tuple[str, str, bool], ...]
    has_body: bool


Invoke = Callable[[Request, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class Binding:
    """A bound operation: what it calls, and how spec values become keyword arguments."""

    target: str
    invoke: Invoke
    arguments: Mapping[str, str] = field(default_factory=dict)
    """Spec parameter name (or "body") -> Python keyword argument name."""


class Handlers:
    """The classes and functions found in a handlers package, imported once at start-up.

    `package` is a package's name, or the path of its folder (`examples/todo-jwt/handlers`):
    a folder is imported under a private name derived from its path, so that two folders both
    called `handlers` never meet in `sys.modules`. Its modules import each other relatively.
    """

    def __init__(self, package: str) -> None:
        if _is_folder(package):
            package = _import_folder(Path(package))
        self.package = package
        self.classes: dict[str, list[type]] = {}
        self.modules: dict[str, ModuleType] = {}
        root = importlib.import_module(package)
        self.root = root
        modules = [root]
        for info in pkgutil.walk_packages(getattr(root, "__path__", []), prefix=f"{package}."):
            modules.append(importlib.import_module(info.name))
        for module in modules:
            self.modules[module.__name__] = module
            for value in vars(module).values():
                if inspect.isclass(value) and value.__module__ == module.__name__:
                    self.classes.setdefault(value.__name__, []).append(value)

    def methods(self, owner: type) -> list[str]:
        """The public methods a class of the package has, its own and those it inherits from
        other classes of the package."""
        names = [name for cls in owner.__mro__ if cls.__module__ in self.modules
                 for name in vars(cls) if not name.startswith("_")]
        return [name for name in dict.fromkeys(names)
                if callable(value := getattr(owner, name)) and not inspect.isclass(value)]

    def functions(self, module: ModuleType) -> list[str]:
        """The public functions a module of the package defines (`services` is no handler)."""
        return [name for name, value in vars(module).items()
                if not name.startswith("_") and inspect.isfunction(value)
                and value.__module__ == module.__name__
                and not (module is self.root and name == "services")]

    def operation_ids(self) -> list[str]:
        """Every `Class.method` and `module.function` an operationId may name, the module
        relative to the package (and the package's own functions, by their bare names)."""
        names = [f"{name}.{method}" for name, classes in self.classes.items() if len(classes) == 1
                 for method in self.methods(classes[0])]
        for module_name, module in self.modules.items():
            if module_name.startswith(f"{self.package}."):
                relative = module_name.removeprefix(f"{self.package}.")
                names += [f"{relative}.{function}" for function in self.functions(module)]
        return names + self.functions(self.root)

    def services_factory(self) -> Callable[..., Mapping[str, Any]] | None:
        factory = getattr(self.root, "services", None)
        return factory if callable(factory) else None

    def import_attribute(self, dotted: str) -> Any:
        """Find `module.attr` (or `module.Class.method`) relative to the package, then absolutely."""
        parts = dotted.split(".")
        for prefix in (f"{self.package}.", ""):
            for cut in range(len(parts) - 1, 0, -1):
                module_name = prefix + ".".join(parts[:cut])
                try:
                    module: Any = self.modules.get(module_name) or importlib.import_module(
                        module_name)
                except ImportError:
                    continue
                value = module
                try:
                    for attr in parts[cut:]:
                        value = getattr(value, attr)
                except AttributeError:
                    continue
                return value
        return None


def bind(
    operation: Mapping[str, Any],
    args: SpecArguments,
    handlers: Handlers,
    dependencies: Iterable[str],
) -> tuple[Binding | None, list[str]]:
    """Bind one operation to its handler; return the binding or the problems that prevent it."""
    op_id = operation.get("operationId")
    owner, function, target, problems = _locate(operation, op_id, handlers)
    if problems or function is None:
        return None, [f"{args.label}: {p}" for p in problems]
    arguments, problems = _map_arguments(function, args, target)
    make_instance = None
    if owner is not None:
        make_instance, ctor_problems = instance_factory(owner, set(dependencies))
        problems += ctor_problems
    if problems:
        return None, [f"{args.label}: {p}" for p in problems]
    return Binding(target=target, invoke=_invoker(owner, function, make_instance),
                   arguments=arguments), []


Binder = Callable[[Mapping[str, Any], SpecArguments, "Handlers | None", Iterable[str]],
                  tuple[Binding | None, list[str]]]
"""A source of bindings besides the handlers package (the data layer's derived controllers):
`(operation, args, handlers, dependencies) -> (binding, problems)`, `(None, [])` for an
operation it does not answer."""


def bind_method(
    owner: type, name: str, args: SpecArguments, dependencies: Iterable[str], *,
    target: str | None = None, preset: Mapping[str, Any] | None = None,
) -> tuple[Binding | None, list[str]]:
    """Bind `owner.name` as the handlers package's methods are bound: arguments by name,
    the constructor's by injection. `preset` attributes are set on each instance before its
    `__init__` runs (a base class's own resources, which a subclass need not declare)."""
    function = getattr(owner, name)
    target = target or _method_target(owner, name)
    arguments, problems = _map_arguments(function, args, target)
    make_instance, ctor_problems = instance_factory(owner, set(dependencies), preset)
    problems += ctor_problems
    if problems:
        return None, [f"{args.label}: {p}" for p in problems]
    return Binding(target=target, invoke=_invoker(owner, function, make_instance),
                   arguments=arguments), []


def unbound_handlers(handlers: Handlers, targets: Iterable[str]) -> list[str]:
    """The handlers no operation binds, named as bound ones are (`module.Class.method`): the
    public methods of each class that binds at least one operation, and the public functions of
    each module that does. Classes and modules that bind nothing are the package's helpers.
    """
    bound = set(targets)
    found: list[str] = []
    for classes in handlers.classes.values():
        for owner in classes:
            prefix = _method_target(owner, "")  # what it binds may be inherited from elsewhere
            if any(target.startswith(prefix) for target in bound):
                found += [target for name in handlers.methods(owner)
                          if (target := _method_target(owner, name)) not in bound]
    for module in handlers.modules.values():
        names = [f"{module.__name__}.{name}" for name in handlers.functions(module)]
        if bound.intersection(names):
            found += [name for name in names if name not in bound]
    return found


def locate_callable(handlers: Handlers, dotted: str
                    ) -> tuple[type | None, Callable[..., Any] | None, list[str]]:
    """`Class.method` or `module.function` of the package (or any importable one): the class
    (None for a function), the callable, or the problems that name what is missing."""
    class_name, _, method = dotted.rpartition(".")
    if class_name and "." not in class_name and class_name in handlers.classes:
        owner, function, _, problems = _class_method(handlers, class_name, method)
        return owner, function, problems
    found = handlers.import_attribute(dotted) if "." in dotted else None
    if found is None:
        return None, None, [f"no class method or function {dotted!r} in package "
                            f"{handlers.package!r}" + _did_you_mean(dotted, handlers.operation_ids())]
    owner, function, _, problems = _from_attribute(found, dotted)
    return owner, function, problems


@dataclass(frozen=True)
class Located:
    """A `Class.method` or function named by the spec besides operationIds (an interceptor, a
    security verifier), found in the handlers package."""

    function: Callable[..., Any]
    """The function, or the class's method unbound: its signature, whether it is async."""
    call: Callable[[Request], Callable[..., Any]]
    """`request -> what to call`: the method bound to an instance of its class made for the
    request, with the same injection as a handler's; or the function itself."""


def locate_injected(handlers: Handlers | None, dotted: str, dependencies: Iterable[str]
                    ) -> tuple[Located | None, list[str], bool]:
    """`dotted` found and its class checked constructible by injection: `(located, problems,
    missing)`, `missing` when the problems are that it is not written yet (which
    `--allow-unbound` lets the server start without, as it does unwritten handlers)."""
    if handlers is None:
        return None, ["there is no handlers package to find it in"], True
    owner, function, found = locate_callable(handlers, dotted)
    if function is None:
        return None, found, True
    if owner is None:
        return Located(function, _as_is(function)), [], False
    make, problems = instance_factory(owner, set(dependencies))
    if problems:
        return None, problems, False
    return Located(function, _bound_method(make, function.__name__)), [], False


def _as_is(function: Callable[..., Any]) -> Callable[[Request], Callable[..., Any]]:
    return lambda _request: function


def _bound_method(make: Callable[[Request], Any], name: str
                  ) -> Callable[[Request], Callable[..., Any]]:
    return lambda request: getattr(make(request), name)


def has_handler(operation: Mapping[str, Any], handlers: Handlers) -> bool:
    """Whether the handlers package answers this operation (a derived one may be overridden)."""
    return _locate(operation, operation.get("operationId"), handlers)[1] is not None


def _locate(
    operation: Mapping[str, Any], op_id: Any, handlers: Handlers
) -> tuple[type | None, Callable[..., Any] | None, str, list[str]]:
    controller = operation.get("x-controller-name")
    router = operation.get("x-openapi-router-controller")
    if controller:
        method = operation.get("x-operation-name") or (str(op_id).rsplit(".", 1)[-1]
                                                       if op_id else None)
        if not method:
            return None, None, "", ["x-controller-name needs x-operation-name or an operationId"]
        return _class_method(handlers, str(controller), str(method))
    if not op_id:
        return None, None, "", ["no operationId, so no handler can be bound"]
    op_id = str(op_id)
    if router:
        found = handlers.import_attribute(f"{router}.{op_id}")
        if found is None:
            module = handlers.import_attribute(str(router))
            names = handlers.functions(module) if inspect.ismodule(module) else []
            return None, None, "", [f"no {op_id!r} in x-openapi-router-controller {router!r}"
                                    + _did_you_mean(op_id, names)]
        return _from_attribute(found, f"{router}.{op_id}")
    if "." in op_id:
        class_name, _, method = op_id.rpartition(".")
        if "." not in class_name and class_name in handlers.classes:
            return _class_method(handlers, class_name, method)
        found = handlers.import_attribute(op_id)
        if found is not None:
            return _from_attribute(found, op_id)
    else:  # `findPets`, `find pet by id`: a function of the package itself, `find_pets`
        function = getattr(handlers.root, python_name(op_id), None)
        if inspect.isfunction(function) and python_name(op_id) in handlers.functions(
                handlers.root):
            return _from_attribute(function, op_id)
        return None, None, "", [
            f"no handler for operationId {op_id!r}: expected a function "
            f"{python_name(op_id)!r} in package {handlers.package!r} (or a class method "
            f"`Class.method`, a function `module.function`)"
            + _did_you_mean(python_name(op_id), handlers.functions(handlers.root))]
    return None, None, "", [f"no handler for operationId {op_id!r}: expected a class method "
                            f"like `Class.method` or a function `module.function` in package "
                            f"{handlers.package!r}" + _did_you_mean(op_id, handlers.operation_ids())]


def _class_method(
    handlers: Handlers, class_name: str, method: str
) -> tuple[type | None, Callable[..., Any] | None, str, list[str]]:
    classes = handlers.classes.get(class_name, [])
    if len(classes) > 1:
        where = ", ".join(c.__module__ for c in classes)
        return None, None, "", [f"class {class_name!r} is ambiguous: defined in {where}"]
    if not classes:
        return None, None, "", [f"no class {class_name!r} in package {handlers.package!r}"
                                + _did_you_mean(class_name, handlers.classes)]
    owner = classes[0]
    for name in dict.fromkeys((method, python_name(method))):
        function = getattr(owner, name, None)
        if callable(function):
            return owner, function, _method_target(owner, name), []
    methods = handlers.methods(owner)
    return None, None, "", [f"class {class_name!r} has no method {method!r}"
                            + (f" or {python_name(method)!r}" if python_name(method) != method
                               else "")
                            + (_did_you_mean(method, methods)
                               or _did_you_mean(python_name(method), methods))]


def _did_you_mean(name: str, names: Iterable[str]) -> str:
    """` (did you mean 'x'?)` naming the one of `names` closest to `name`; "" if none is close.

    >>> _did_you_mean("lter", ["find", "later"]), _did_you_mean("nothing", ["find"])
    (" (did you mean 'later'?)", '')
    """
    found = difflib.get_close_matches(name, list(names), n=1)
    return f" (did you mean {found[0]!r}?)" if found else ""


def _method_target(owner: type, name: str) -> str:
    """How a bound method is named: `module.Class.method`."""
    return f"{owner.__module__}.{owner.__qualname__}.{name}"


def _from_attribute(
    found: Any, dotted: str
) -> tuple[type | None, Callable[..., Any] | None, str, list[str]]:
    qualname = getattr(found, "__qualname__", "")
    module = sys.modules.get(getattr(found, "__module__", "") or "")
    if "." in qualname and module is not None:
        owner = getattr(module, qualname.split(".")[0], None)
        if inspect.isclass(owner):
            return owner, found, f"{module.__name__}.{qualname}", []
    if callable(found) and not inspect.isclass(found):
        return None, found, f"{getattr(found, '__module__', '')}.{qualname or dotted}", []
    return None, None, "", [f"{dotted!r} is not a function or method"]


def _map_arguments(
    function: Callable[..., Any], args: SpecArguments, target: str
) -> tuple[dict[str, str], list[str]]:
    signature = inspect.signature(function)
    accepted = [p for p in signature.parameters.values()
                if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    by_name = {p.name: p for p in accepted}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    problems: list[str] = []
    arguments: dict[str, str] = {}
    claimed: dict[str, str] = {}
    supplied = [(name, where) for name, where, _ in args.parameters]
    if args.has_body:
        supplied.append((BODY, "body"))
    for name, where in supplied:
        candidates = (BODY,) if where == "body" else argument_candidates(name)
        chosen = next((c for c in candidates if c in by_name), None)
        if chosen is None and takes_any:
            chosen = candidates[0]
        key = chosen or candidates[0]
        if key in claimed:
            problems.append(f"parameter clash: {where} {name!r} and {claimed[key]} both bind to "
                            f"argument {key!r} of {target}")
            continue
        claimed[key] = f"{where} {name!r}"
        if chosen is not None:
            arguments[name if where != "body" else BODY] = chosen
    if PRINCIPAL in by_name and PRINCIPAL not in claimed:
        arguments[PRINCIPAL] = claimed[PRINCIPAL] = PRINCIPAL
    for parameter in accepted:
        if parameter.name in claimed:
            continue
        if parameter.default is parameter.empty:
            problems.append(f"{target} requires argument {parameter.name!r}, which the spec does "
                            f"not supply (spec supplies: "
                            f"{', '.join(sorted(claimed)) or 'nothing'})")
    return arguments, problems


def instance_factory(
    owner: type, dependencies: set[str], preset: Mapping[str, Any] | None = None
) -> tuple[Callable[[Request], Any], list[str]]:
    """Build `request -> instance` with the dependencies its constructor names (`request`
    itself is always one); and the problems of a constructor that asks for what is not."""
    init = owner.__init__  # type: ignore[misc]
    if init is object.__init__ and not preset:
        return lambda _request: owner(), []
    signature = inspect.signature(init)
    wanted: list[str] = []
    problems: list[str] = []
    for parameter in list(signature.parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.name in dependencies or parameter.name == "request":
            wanted.append(parameter.name)
        elif parameter.default is parameter.empty:
            problems.append(f"{owner.__name__}.__init__ needs {parameter.name!r}, which is not a "
                            f"registered dependency (available: {', '.join(sorted(dependencies))})")
    names = tuple(wanted)
    if preset:
        attributes = dict(preset)

        def make_preset_instance(request: Request) -> Any:
            services = request.services
            instance: Any = object.__new__(owner)
            vars(instance).update(attributes)
            instance.__init__(**{name: request if name == "request" else services[name]
                                 for name in names})
            return instance
        return make_preset_instance, problems

    def make_instance(request: Request) -> Any:
        services = request.services
        return owner(**{name: request if name == "request" else services[name]
                        for name in names})
    return make_instance, problems


def _invoker(
    owner: type | None,
    function: Callable[..., Any],
    make_instance: Callable[[Request], Any] | None,
) -> Invoke:
    is_async = inspect.iscoroutinefunction(function)
    name = function.__name__
    if owner is not None and make_instance is not None:
        if is_async:
            async def invoke_async_method(request: Request, kwargs: dict[str, Any]) -> Any:
                return await getattr(make_instance(request), name)(**kwargs)
            return invoke_async_method

        async def invoke_sync_method(request: Request, kwargs: dict[str, Any]) -> Any:
            method = getattr(make_instance(request), name)
            return await anyio.to_thread.run_sync(functools.partial(method, **kwargs))
        return invoke_sync_method
    if is_async:
        async def invoke_async_function(request: Request, kwargs: dict[str, Any]) -> Any:
            return await function(**kwargs)
        return invoke_async_function

    async def invoke_sync_function(request: Request, kwargs: dict[str, Any]) -> Any:
        return await anyio.to_thread.run_sync(functools.partial(function, **kwargs))
    return invoke_sync_function
