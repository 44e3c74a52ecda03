"""Stubs: the handlers the spec's unbound operations need, written into the handlers package.

`charter stubs` writes what is missing and nothing else: for each operation no handler answers,
the method (appended to its class where the class exists, in a new module named after the class
where it does not) or the function (`module.function`, or the package's own function for an
operationId with neither a class nor a module). Each has the arguments the binding passes,
typed as coercion delivers them, the operation's summary as its docstring, and a body that
raises Charter's 501, or, with `examples`, returns the spec's example of its success response.
A method or function that exists is never changed.
"""

from __future__ import annotations

import ast
import difflib
import keyword
import pprint
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from server.binding import Handlers, argument_candidates, python_name
from server.parameters import merge_parameters
from server.refs import deref
from server.spec import Spec


@dataclass
class Stub:
    """One handler to write: where, and its code (a `def` at column 0)."""

    label: str
    owner: str | None
    """Its class's name; None for a function."""
    module: str
    """The module, relative to the package ("" for the package itself)."""
    name: str
    code: str
    imports: set[str] = field(default_factory=set)


@dataclass
class Change:
    """A file's text before (None: a new file) and after the stubs."""

    path: Path
    before: str | None
    after: str
    stubs: list[Stub]

    def diff(self, root: Path) -> str:
        shown = self.path.relative_to(root) if self.path.is_relative_to(root) else self.path
        return "".join(difflib.unified_diff(
            (self.before or "").splitlines(keepends=True), self.after.splitlines(keepends=True),
            fromfile="/dev/null" if self.before is None else f"a/{shown}",
            tofile=f"b/{shown}"))


def plan_stubs(spec: Spec, unbound: Iterable[str], handlers: Handlers | None,
               package_folder: Path, *, examples: bool = False) -> list[Change]:
    """The files to write for the `unbound` operations (labels, `"GET /pets"`): the package's
    folder (or module file) is `package_folder`."""
    document = spec.document
    wanted = set(unbound)
    stubs: list[Stub] = []
    for path, method, operation, item in spec.operations():
        label = f"{method.upper()} {path}"
        if label not in wanted:
            continue
        stub = _stub(document, label, operation, item, examples)
        if stub is not None and not _exists(stub, handlers):
            stubs.append(stub)
    return _changes(stubs, handlers, package_folder)


def _stub(document: Mapping[str, Any], label: str, operation: Mapping[str, Any],
          item: Mapping[str, Any], examples: bool) -> Stub | None:
    op_id = operation.get("operationId")
    controller = operation.get("x-controller-name")
    router = operation.get("x-openapi-router-controller")
    if controller:
        owner, module = str(controller), python_name(str(controller))
        name = python_name(str(operation.get("x-operation-name") or op_id or "").rsplit(".")[-1])
    elif not op_id:
        return None
    elif router:
        owner, module, name = None, str(router), python_name(str(op_id))
    elif "." in str(op_id):
        head, _, tail = str(op_id).rpartition(".")
        if head[:1].isupper() and "." not in head:
            owner, module, name = head, python_name(head), python_name(tail)
        else:
            owner, module, name = None, head, python_name(tail)
    else:
        owner, module, name = None, "", python_name(str(op_id))
    if not name or keyword.iskeyword(name):
        return None
    imports: set[str] = set()
    arguments = _arguments(document, operation, item, imports)
    summary = _summary(operation, label, op_id)
    body = _body(document, operation, label, op_id, examples, imports)
    signature = ", ".join((["self"] if owner else []) + arguments)
    code = f'def {name}({signature}):\n    """{summary}"""\n{body}'
    return Stub(label, owner, module, name, code, imports)


def _arguments(document: Mapping[str, Any], operation: Mapping[str, Any],
               item: Mapping[str, Any], imports: set[str]) -> list[str]:
    required: list[str] = []
    optional: list[str] = []
    for parameter in merge_parameters(document, item.get("parameters") or [],
                                      operation.get("parameters") or []):
        schema = parameter.get("schema")
        if schema is None:  # `content`: a JSON value
            schema = _first_media(parameter).get("schema", {})
        annotation = _annotation(document, schema, imports)
        argument = argument_candidates(str(parameter["name"]))[0]
        if parameter.get("required"):
            required.append(f"{argument}: {annotation}")
        else:
            optional.append(f"{argument}: {annotation} | None = None")
    if "requestBody" in operation:
        body = deref(document, operation["requestBody"])
        media = _first_media(body)
        annotation = _annotation(document, media.get("schema") or {}, imports)
        (required if body.get("required") else optional).append(
            f"body: {annotation}" if body.get("required") else f"body: {annotation} | None = None")
    return required + optional


def _first_media(holder: Mapping[str, Any]) -> Mapping[str, Any]:
    """The first media type's object of a parameter's or a body's `content`."""
    media: Any = next(iter((holder.get("content") or {}).values()), {})
    return media if isinstance(media, Mapping) else {}


_TYPES = {"integer": "int", "number": "float", "boolean": "bool", "string": "str"}


def _annotation(document: Mapping[str, Any], schema: Any, imports: set[str]) -> str:
    """The Python type coercion delivers for a value of `schema`."""
    schema = deref(document, schema) if isinstance(schema, Mapping) else {}
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind in _TYPES:
        return _TYPES[kind]
    if kind == "array":
        return f"list[{_annotation(document, schema.get('items') or {}, imports)}]"
    imports.add("Any")
    return "dict[str, Any]" if kind == "object" or "properties" in schema else "Any"


def _summary(operation: Mapping[str, Any], label: str, op_id: Any) -> str:
    text = str(operation.get("summary") or operation.get("description") or "").strip()
    line = text.splitlines()[0].strip() if text else f"{label} (operationId {op_id!r})."
    line = line if len(line) <= 76 else line[:73].rstrip() + "..."  # 88 columns in a method
    return line.replace("\\", "\\\\").replace('"""', "'''")


def _body(document: Mapping[str, Any], operation: Mapping[str, Any], label: str, op_id: Any,
          examples: bool, imports: set[str]) -> str:
    if examples:
        found = _example(document, operation)
        if found is not _NONE:
            shown = pprint.pformat(found, indent=4, width=88, sort_dicts=False)
            return "    return " + shown.replace("\n", "\n    ") + "\n"
    imports.add("NotImplementedYet")
    message = repr(f"{label} (operationId {str(op_id)!r}) has no handler yet.")
    if len(message) <= 52:  # within 88 columns in a method
        return f"    raise NotImplementedYet({message})\n"
    return f"    raise NotImplementedYet(\n        {message}\n    )\n"


_NONE = object()


def _example(document: Mapping[str, Any], operation: Mapping[str, Any]) -> Any:
    """The example of the first success response with JSON content, if the spec gives one."""
    responses = operation.get("responses") or {}
    for status in sorted(code for code in responses if str(code).startswith("2")):
        response = deref(document, responses[status])
        for media_type, media in (response.get("content") or {}).items():
            if "json" not in media_type or not isinstance(media, Mapping):
                continue
            if "example" in media:
                return media["example"]
            for example in (media.get("examples") or {}).values():
                example = deref(document, example)
                if isinstance(example, Mapping) and "value" in example:
                    return example["value"]
            schema = deref(document, media.get("schema") or {})
            if isinstance(schema, Mapping) and "example" in schema:
                return schema["example"]
    return _NONE


def _exists(stub: Stub, handlers: Handlers | None) -> bool:
    """Whether the package has a method or function of the stub's name where it goes."""
    if handlers is None:
        return False
    if stub.owner is not None:
        return any(hasattr(owner, stub.name) for owner in handlers.classes.get(stub.owner, []))
    module = handlers.modules.get(f"{handlers.package}.{stub.module}" if stub.module
                                  else handlers.package)
    return module is not None and hasattr(module, stub.name)


def _changes(stubs: list[Stub], handlers: Handlers | None, root: Path) -> list[Change]:
    """The stubs grouped by the file they go in."""
    package = root.is_dir() or not root.suffix
    by_file: dict[Path, list[Stub]] = {}
    for stub in stubs:
        existing = _class_file(stub, handlers)
        if existing is not None:
            target = existing
        elif not package:
            target = root
        elif stub.module:
            target = root.joinpath(*stub.module.split(".")).with_suffix(".py")
        else:
            target = root / "__init__.py"
        by_file.setdefault(target, []).append(stub)
    return [_change(path, file_stubs) for path, file_stubs in by_file.items()]


def _class_file(stub: Stub, handlers: Handlers | None) -> Path | None:
    if stub.owner is None or handlers is None:
        return None
    classes = handlers.classes.get(stub.owner, [])
    if len(classes) != 1:
        return None
    module = handlers.modules.get(classes[0].__module__)
    found = getattr(module, "__file__", None)
    return Path(found) if found else None


def _change(path: Path, stubs: list[Stub]) -> Change:
    before = path.read_text() if path.exists() else None
    lines = (before or "").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    tree = ast.parse(before or "")
    classes = {node.name: node for node in tree.body if isinstance(node, ast.ClassDef)}
    # Methods go at the end of their class, the last class first, so that line numbers hold.
    inserts: dict[int, list[str]] = {}
    new_classes: dict[str, list[str]] = {}
    functions: list[str] = []
    for stub in stubs:
        if stub.owner is None:
            functions.append(stub.code)
        elif stub.owner in classes:
            end = classes[stub.owner].end_lineno or len(lines)
            inserts.setdefault(end, []).append(_indented(stub.code))
        else:
            new_classes.setdefault(stub.owner, []).append(_indented(stub.code))
    for end in sorted(inserts, reverse=True):
        lines[end:end] = ["".join(f"\n{code}" for code in inserts[end])]
    text = "".join(lines)
    for owner, methods in new_classes.items():
        text += f"\n\nclass {owner}:\n" + "\n".join(methods)
    for code in functions:
        text += f"\n\n{code}"
    needed = set().union(*(stub.imports for stub in stubs))
    text = _with_imports(text, tree, needed, new_file=before is None)
    return Change(path, before, text.lstrip("\n") if before is None else text, stubs)


def _indented(code: str) -> str:
    return "".join(f"    {line}" if line.strip() else line
                   for line in code.splitlines(keepends=True))


def _with_imports(text: str, tree: ast.Module, needed: set[str], *, new_file: bool) -> str:
    """`text` with the imports its stubs need that the file does not have."""
    have = {alias.asname or alias.name for node in tree.body
            if isinstance(node, ast.Import | ast.ImportFrom) for alias in node.names}
    lines = []
    if "Any" in needed and "Any" not in have:
        lines.append("from typing import Any\n")
    if "NotImplementedYet" in needed and "NotImplementedYet" not in have:
        lines.append("from server import NotImplementedYet\n")
    if new_file:  # the imports grouped as isort does: the standard library's, then server's
        return "".join(['"""Handlers written by `charter stubs`: fill them in."""\n\n',
                        "from __future__ import annotations\n", *(f"\n{line}" for line in lines),
                        text])
    if not lines:
        return text
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]
    at = imports[-1].end_lineno if imports else _after_docstring(tree)
    split = text.splitlines(keepends=True)
    split[at:at] = lines
    return "".join(split)


def _after_docstring(tree: ast.Module) -> int:
    first = tree.body[0] if tree.body else None
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return first.end_lineno or 0
    return 0


def write(changes: list[Change], root: Path) -> None:
    """Write each changed file; a package folder on the way (the package's own, or a module's
    under it) gets an empty `__init__.py` where it has none."""
    for change in changes:
        change.path.parent.mkdir(parents=True, exist_ok=True)
        change.path.write_text(change.after)
    if not (root.is_dir() or not root.suffix):
        return
    for change in changes:
        folder = change.path.parent
        while folder.is_relative_to(root) and not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text(
                '"""Handlers written by `charter stubs`: fill them in."""\n')
            folder = folder.parent
