"""The contract: load an OpenAPI document from many files, bundle it into one, and check it.

Relative `$ref`s between files are resolved while loading. Schemas referenced from another file
become named entries of `components.schemas`, so that every reference left in the bundled
document is an internal `#/...` pointer and recursive schemas stay finite. Every other kind of
object (path items, parameters, responses...) is inlined where it is referenced.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import orjson
import yaml

from server.dialect import SCHEMA_LISTS, SCHEMA_MAPS, SCHEMA_VALUED
from server.errors import ContractError
from server.jsontext import load_json
from server.precheck import meta_errors, passes
from server.refs import RefError, escape, pointer, resolve_pointer, unescape

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
ROOT_NAMES = ("openapi.yaml", "openapi.yml", "openapi.json")
SPEC_SUFFIXES = (".yaml", ".yml", ".json")
"""The files a spec is written in."""

# Where the bundler finds schemas: JSON Schema's keywords, plus older ones a file may use.
_SCHEMA_VALUED = SCHEMA_VALUED | {"additionalItems", "contentSchema"}
_SCHEMA_MAPS = SCHEMA_MAPS | {"definitions"}


class SpecError(ContractError):
    """The spec cannot be served. `problems` names every fault found, each with file and place."""


@dataclass(frozen=True)
class Spec:
    """A loaded, bundled and checked OpenAPI document."""

    document: dict[str, Any]
    version: str
    source: Path
    origins: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    warnings: list[str] = field(default_factory=list, compare=False)
    """Faults of the document that change nothing Charter serves, each with file and place."""
    files: tuple[Path, ...] = field(default=(), compare=False, repr=False)
    """Every file the bundle read (the root first), resolved."""

    def operations(self) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
        """Yield `(path, method, operation, path_item)` for every operation, in document order."""
        for path, item in (self.document.get("paths") or {}).items():
            for method in HTTP_METHODS:
                operation = item.get(method)
                if isinstance(operation, dict):
                    yield path, method, operation, item


def base_path(document: dict[str, Any]) -> str:
    """Where the operations' paths live: the path of the first server's URL, its variables at
    their defaults, as clients generated from the spec call it ("" for the root).

    >>> base_path({"servers": [{"url": "{scheme}://example.com/{version}/",
    ...                         "variables": {"scheme": {"default": "https"},
    ...                                       "version": {"default": "v1"}}}]})
    '/v1'
    """
    servers = document.get("servers")
    server = servers[0] if isinstance(servers, list) and servers else None
    if not isinstance(server, dict) or not isinstance(server.get("url"), str):
        return ""
    url: str = server["url"]
    for name, variable in (server.get("variables") or {}).items():
        if isinstance(variable, dict) and "default" in variable:
            url = url.replace(f"{{{name}}}", str(variable["default"]))
    return normal_base_path(urlsplit(url).path)


def normal_base_path(path: str) -> str:
    """A base path with one leading slash and none at the end; "" for the root."""
    path = path.strip("/")
    return f"/{path}" if path else ""


def load_spec(path: Path | str) -> Spec:
    """Load, bundle and validate the spec at `path`: a file, or a folder holding `openapi.yaml`.

    >>> spec = load_spec("spec")                                    # doctest: +SKIP
    >>> spec.version, sorted(spec.document["paths"])[:1]            # doctest: +SKIP
    ('3.0', ['/todos'])
    """
    root = _find_root(Path(path))
    bundler = _Bundler(root)
    document = bundler.bundle()
    version = _version_of(document, root)
    problems, warnings = check_document(document, version, bundler.origins)
    if bundler.problems or problems:
        raise SpecError(bundler.problems + problems)
    return Spec(document=document, version=version, source=root, origins=bundler.origins,
                warnings=bundler.warnings + warnings, files=tuple(bundler.files))


def unreferenced_files(spec: Spec, folder: Path) -> list[str]:
    """The spec files (YAML, JSON) under `folder` that the bundle never read, as problems name
    files: no `$ref` leads to them from the root, so nothing in them is served. Hidden files and
    folders (`.spectral.yaml`...) are not the spec's.

    >>> unreferenced_files(load_spec("spec"), Path("spec"))      # doctest: +SKIP
    ['spec/schemas/old-todo.yaml']
    """
    read = set(spec.files)
    folder = folder.resolve()
    return [_show(path) for path in sorted(folder.rglob("*"))
            if path.suffix in SPEC_SUFFIXES and path.is_file() and path.resolve() not in read
            and not any(part.startswith(".") for part in path.relative_to(folder).parts)]


def _find_root(path: Path) -> Path:
    if path.is_dir():
        for name in ROOT_NAMES:
            if (path / name).is_file():
                return path / name
        raise SpecError([f"{path}: no {', '.join(ROOT_NAMES)} in this folder"])
    if not path.is_file():
        raise SpecError([f"{path}: no such file or folder"])
    return path


def _version_of(document: dict[str, Any], root: Path) -> str:
    raw = str(document.get("openapi", ""))
    if re.fullmatch(r"3\.0\.\d+", raw):
        return "3.0"
    if re.fullmatch(r"3\.1\.\d+", raw):
        return "3.1"
    raise SpecError([f"{root}: /openapi: unsupported version {raw!r}; Charter serves 3.0.x and 3.1.x"])


class _Bundler:
    """Walks the root document, loading referenced files and rewriting their references."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.files: dict[Path, Any] = {}
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.origins: dict[str, str] = {"": _show(self.root)}
        self.schema_names: dict[tuple[Path, str], str] = {}
        self.inlining: set[tuple[Path, str]] = set()
        self.unreadable: dict[Path, str] = {}
        self.placed: set[tuple[Path, str]] = set()
        self.document: dict[str, Any] = {}

    def bundle(self) -> dict[str, Any]:
        loaded = self._load(self.root)
        if not isinstance(loaded, dict):
            if not self.problems:
                self.problems.append(f"{_show(self.root)}: the document is not a mapping")
            raise SpecError(self.problems)
        self.document = copy.deepcopy(loaded)
        components = self.document.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        # Components that merely point at another file keep their name for what they point at.
        for name, node in list(schemas.items()):
            target = self._external_target(node, self.root)
            if target is not None:
                self.schema_names[target] = name
        for name in list(schemas):
            out = f"/components/schemas/{escape(name)}"
            schemas[name] = self._walk(schemas[name], self.root, out, out, True)
        for key in list(self.document):
            if key == "components":
                for part in [k for k in components if k != "schemas"]:
                    out = f"/components/{escape(part)}"
                    components[part] = self._walk(components[part], self.root, out, out, False)
            else:
                out = f"/{escape(key)}"
                self.document[key] = self._walk(self.document[key], self.root, out, out, False)
        return self.document

    def _load(self, path: Path) -> Any:
        if path in self.files:
            return self.files[path]
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            self.unreadable[path] = str(reason)
            if path == self.root:
                self.problems.append(f"{_show(path)}: cannot read: {reason}")
            self.files[path] = None
            return None
        try:
            data = _parse_yaml(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            reason = getattr(exc, "problem", None) or str(exc)
            self.problems.append(f"{_show(path)}:{where}: invalid YAML: {reason}")
            data = None
        self.files[path] = data
        return data

    def _external_target(self, node: Any, base: Path) -> tuple[Path, str] | None:
        if not (isinstance(node, dict) and isinstance(node.get("$ref"), str)):
            return None
        ref: str = node["$ref"]
        if ref.startswith("#"):
            return (base, unquote(ref[1:])) if base != self.root else None
        file_part, _, pointer = ref.partition("#")
        if "://" in file_part:
            return None
        return ((base.parent / unquote(file_part)).resolve(), unquote(pointer))

    def _walk(self, node: Any, base: Path, out: str, src: str, is_schema: bool) -> Any:
        """Rewrite `node` (from file `base`, at pointer `src` there) to live at `out` in the bundle."""
        if isinstance(node, list):
            return [self._walk(item, base, f"{out}/{i}", f"{src}/{i}", False)
                    for i, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        target = self._external_target(node, base)
        if target is not None:
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return self._follow(target, siblings, base, out, is_schema, node["$ref"], src)
        if "$ref" in node and isinstance(node["$ref"], str) and "://" in node["$ref"]:
            self.problems.append(f"{_place(_show(base), f'{src}/$ref')}: remote references are not supported "
                                 f"({node['$ref']}); the server uses no network")
            return node
        result: dict[str, Any] = {}
        for key, value in node.items():
            if is_schema and key == "definitions":
                continue  # every reference into it was moved to components.schemas
            child_out, child_src = f"{out}/{escape(key)}", f"{src}/{escape(key)}"
            if is_schema and key in _SCHEMA_MAPS and isinstance(value, dict):
                names, names_base, names_src = self._names(value, base, child_src)
                if names is not value:
                    self.origins[child_out] = f"{_show(names_base)}#{names_src}"
                result[key] = {k: self._walk(v, names_base, f"{child_out}/{escape(k)}",
                                             f"{names_src}/{escape(k)}", True)
                               for k, v in names.items()}
            elif is_schema and key in SCHEMA_LISTS and isinstance(value, list):
                result[key] = [self._walk(v, base, f"{child_out}/{i}", f"{child_src}/{i}", True)
                               for i, v in enumerate(value)]
            elif is_schema and key == "discriminator" and isinstance(value, dict):
                result[key] = self._discriminator(value, base, child_src)
            else:
                child_is_schema = key == "schema" or (is_schema and key in _SCHEMA_VALUED)
                result[key] = self._walk(value, base, child_out, child_src, child_is_schema)
        return result

    def _names(self, node: dict[str, Any], base: Path,
               src: str) -> tuple[dict[str, Any], Path, str]:
        """A map of names to schemas (`properties`...), and the file and place it comes from.

        A map that is a `$ref` (`properties: {$ref: other.yaml#/props}`) names a property called
        `$ref` to OpenAPI, but its author meant the map it points at, as JSON Reference reads it:
        that is what it serves, with a warning.
        """
        ref = node.get("$ref")
        if not isinstance(ref, str) or len(node) != 1:
            return node, base, src
        target = self._external_target(node, base)
        if target is None and not ref.startswith("#"):
            return node, base, src  # remote: left for `dangling_refs` to name
        path, pointer = target or (base, unquote(ref[1:]))
        data = self._load(path)
        try:
            found = resolve_pointer(data, pointer) if data is not None else None
        except RefError:
            found = None
        if not isinstance(found, dict):
            return node, base, src  # left for `dangling_refs` to name
        self.warnings.append(f"{_place(_show(base), src)}: $ref {ref!r} stands for the whole map, "
                             f"where OpenAPI names each entry; served as the map it points at")
        return found, path, pointer

    def _discriminator(self, node: dict[str, Any], base: Path, src: str) -> dict[str, Any]:
        """A discriminator whose `mapping` values that are references (to another file, or to a
        place in this one) now name the component the referenced schema became."""
        mapping = node.get("mapping")
        if not isinstance(mapping, dict):
            return node
        rewritten: dict[str, Any] = {}
        for tag, value in mapping.items():
            target = self._mapping_target(value, base)
            if target is None:
                rewritten[tag] = value  # a component name, or a pointer into the root document
                continue
            path, pointer = target
            data = self._load(path)
            try:
                found = resolve_pointer(data, pointer) if data is not None else None
            except RefError:
                found = None
            if found is None:
                self.problems.append(f"{_place(_show(base), f'{src}/mapping/{escape(str(tag))}')}: "
                                     f"{value!r} points nowhere")
                rewritten[tag] = value
                continue
            name = self._schema_component(path, pointer, found)
            rewritten[tag] = f"#/components/schemas/{escape(name)}"
        return {**node, "mapping": rewritten}

    def _mapping_target(self, value: Any, base: Path) -> tuple[Path, str] | None:
        """Where a `discriminator.mapping` value points, if it is a reference the bundle moves.

        OpenAPI reads a value as a schema name unless it looks like a reference: a JSON pointer
        or a relative file path (with a `/`, a `#` or a file extension).
        """
        if isinstance(value, str) and ("/" in value or "#" in value
                                       or value.endswith(SPEC_SUFFIXES)):
            return self._external_target({"$ref": value}, base)
        return None

    def _follow(self, target: tuple[Path, str], siblings: dict[str, Any], base: Path, out: str,
                is_schema: bool, ref: str, src: str) -> Any:
        path, pointer = target
        data = self._load(path)
        if data is None:
            if path in self.unreadable:
                self.problems.append(f"{_place(_show(base), src)}: $ref {ref!r} cannot be "
                                     f"loaded: {self.unreadable[path]}")
            return {}
        try:
            found = resolve_pointer(data, pointer)
        except RefError:
            self.problems.append(f"{_place(_show(base), src)}: $ref {ref!r} points nowhere "
                                 f"(no {pointer or '/'} in {path.name})")
            return {}
        if is_schema:
            name = self._schema_component(path, pointer, found)
            ref_node: dict[str, Any] = {"$ref": f"#/components/schemas/{escape(name)}"}
            if out == f"/components/schemas/{escape(name)}":
                placed = self.document["components"]["schemas"][name]
                return {**placed, **siblings} if isinstance(placed, dict) else placed
            return {**ref_node, **siblings}
        key = (path, pointer)
        if key in self.inlining:
            self.problems.append(f"{_place(_show(base), src)}: $ref {ref!r} is circular")
            return {}
        self.inlining.add(key)
        self.origins[out] = f"{_show(path)}#{pointer}"
        try:
            inlined = self._walk(found, path, out, pointer, False)
        finally:
            self.inlining.discard(key)
        return {**inlined, **siblings} if isinstance(inlined, dict) else inlined

    def _schema_component(self, path: Path, pointer: str, found: Any) -> str:
        key = (path, pointer)
        if key in self.schema_names:
            name = self.schema_names[key]
            if key not in self.placed:
                self._place_schema(name, path, pointer, found)
            return name
        title = found.get("title") if isinstance(found, dict) else None
        base_name = pointer.rsplit("/", 1)[-1] if pointer.strip("/") else (title or path.stem)
        name = re.sub(r"[^A-Za-z0-9._-]", "_", str(base_name)) or "Schema"
        schemas = self.document["components"]["schemas"]
        candidate, n = name, 1
        while candidate in schemas:
            n += 1
            candidate = f"{name}{n}"
        self.schema_names[key] = candidate
        self._place_schema(candidate, path, pointer, found)
        return candidate

    def _place_schema(self, name: str, path: Path, pointer: str, found: Any) -> None:
        schemas = self.document["components"]["schemas"]
        self.placed.add((path, pointer))  # first: recursive schemas come back here
        schemas[name] = {}
        out = f"/components/schemas/{escape(name)}"
        self.origins[out] = f"{_show(path)}#{pointer}"
        schemas[name] = self._walk(found, path, out, pointer, True)


def _show(path: Path) -> str:
    """A path as the user wrote it: relative to the working directory when below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _where(origins: dict[str, str], pointer: str) -> str:
    """Name the source file and place of a pointer into the bundled document."""
    best = max((p for p in origins if pointer == p or pointer.startswith(p + "/") or p == ""),
               key=len)
    source = origins[best]
    file, _, inner = source.partition("#")
    return _place(file, inner + pointer[len(best):])


def _place(file: str, pointer: str) -> str:
    """`file:line: /pointer`, the line where the file has the place (or the nearest above it).

    >>> _place("no/such/file.yaml", "/paths")
    'no/such/file.yaml: /paths'
    """
    line = _line(file, pointer) if pointer else None
    return f"{file}{f':{line}' if line else ''}: {pointer or '/'}"


def _line(file: str, pointer: str) -> int | None:
    """The line of the deepest node of `file` on the way to `pointer`; None if unreadable."""
    try:
        stat = Path(file).stat()
    except OSError:
        return None
    node = _composed(file, stat.st_mtime_ns, stat.st_size)
    if node is None:
        return None
    mark = node.start_mark
    for token in (unescape(t) for t in pointer.lstrip("/").split("/")):
        if isinstance(node, yaml.MappingNode):
            pair = next((pair for pair in node.value if pair[0].value == token), None)
            if pair is None:
                break
            mark, node = pair[0].start_mark, pair[1]  # a member is where its name is
        elif (isinstance(node, yaml.SequenceNode) and token.isdigit()
              and int(token) < len(node.value)):
            node = node.value[int(token)]
            mark = node.start_mark
        else:
            break
    return int(mark.line) + 1


@functools.lru_cache(maxsize=32)
def _composed(file: str, mtime_ns: int, size: int) -> yaml.Node | None:
    """A file's YAML node tree, with the marks that give lines (read again when it changes)."""
    try:
        return yaml.compose(Path(file).read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None


def check_document(document: dict[str, Any], version: str,
                   origins: dict[str, str]) -> tuple[list[str], list[str]]:
    """Every fault openapi-spec-validator finds, each named with its source file and place:
    the problems, which stop the start, and the warnings, faults in what serves no request
    (documentation, examples, a body schema's `default`), which do not.

    A `$ref` that points nowhere stops the validator at the first one, with the whole document
    in its message; they are found first instead, every one, each named where it is.

    A document that passes the quick check (`precheck.passes`) has nothing the validator would
    report, and is spared it: the validator, and its import, cost a large spec seconds and
    tens of megabytes.
    """
    dangling = dangling_refs(document, origins)
    if dangling:
        return dangling, []
    if passes(document, version):
        return [], []
    from jsonschema.exceptions import ValidationError
    from openapi_spec_validator import OpenAPIV30SpecValidator, OpenAPIV31SpecValidator

    validator_class = OpenAPIV31SpecValidator if version == "3.1" else OpenAPIV30SpecValidator
    problems: list[str] = []
    warnings: list[str] = []
    try:
        errors = list(validator_class(document).iter_errors())
    except Exception as exc:  # the validator itself can trip over a badly broken document
        found = [f"{_where(origins, at)}: {message}" for at, message in meta_errors(document,
                                                                                   version)]
        return found or [f"{_where(origins, '')}: the spec could not be checked: {exc}"], []
    places: dict[int, list[str | int]] | None = None
    located: list[list[str | int]] = []
    for error in errors:
        if not isinstance(error, ValidationError):
            problems.append(f"{_where(origins, '')}: {error}")
            continue
        default: list[str | int] | None = None
        if isinstance(error.schema, dict) and "default" in error.schema:
            # The validator checks a schema's `default` against the schema on its own, and
            # names no place: the schema is the document's own object, found by identity.
            places = _places(document) if places is None else places
            if id(error.schema) in places:
                default = [*places[id(error.schema)], "default"]
        for leaf in _leaves(error):
            tokens: list[str | int] = list(leaf.absolute_path)
            if default is not None:
                tokens = [*default, *tokens]
            elif not _resolves(document, tokens):
                # A schema's own check names places inside that schema, which an error before
                # it locates ("... is not valid under any of the schemas"): the latest that fits.
                tokens = next((t for base in reversed(located)
                               if _resolves(document, t := [*base, *tokens])), tokens)
            located.append(tokens)
            message = str(leaf.message).splitlines()[0]
            if len(message) > 240:
                message = message[:240] + "..."
            fault = f"{_where(origins, pointer(tokens))}: {message}"
            (warnings if _serves_nothing(document, tokens) else problems).append(fault)
    return list(dict.fromkeys(problems)), list(dict.fromkeys(warnings))


def _resolves(document: dict[str, Any], tokens: list[str | int]) -> bool:
    try:
        resolve_pointer(document, pointer(tokens))
    except RefError:
        return False
    return True


def _places(document: dict[str, Any]) -> dict[int, list[str | int]]:
    """Where each object of the document is, by identity."""
    places: dict[int, list[str | int]] = {}
    stack: list[tuple[Any, list[str | int]]] = [(document, [])]
    while stack:
        node, tokens = stack.pop()
        if isinstance(node, dict):
            places.setdefault(id(node), tokens)
            stack.extend((value, [*tokens, key]) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, [*tokens, i]) for i, value in enumerate(node))
    return places


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The faults under a validator error: for a `oneOf`/`anyOf` no branch matched (a Schema
    Object or a Reference Object...), every fault of the branch the author meant, the one that
    got deepest into the document, rather than one summary at the top."""
    if not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    meant = max(branches.values(), key=lambda subs: max(len(sub.absolute_path) for sub in subs))
    return [leaf for sub in meant for leaf in _leaves(sub)]


_INERT_ROOTS = frozenset({"info", "tags", "externalDocs"})
_INERT_KEYS = frozenset({"description", "summary", "title", "externalDocs", "example",
                         "examples", "deprecated"})


def _serves_nothing(document: dict[str, Any], tokens: list[str | int]) -> bool:
    """Whether a fault at `tokens` lies in what no request is served by: the document's info
    and tags, a description or an example anywhere, or the `default` of a schema that Charter
    never fills in (a parameter's default is filled in, and so is an entity property's).

    >>> _serves_nothing({}, ["tags", 0, "description"]), _serves_nothing({}, ["paths", "/a"])
    (True, False)
    """
    if tokens and tokens[0] in _INERT_ROOTS:
        return True
    keys = [token for i, token in enumerate(tokens)  # keywords, not the names a map holds
            if isinstance(token, str) and (i == 0 or tokens[i - 1] not in _NAME_MAPS)]
    if any(key in _INERT_KEYS or key.startswith("x-") for key in keys):
        return True
    if "default" not in keys or "parameters" in keys:
        return False
    if tokens[:2] == ["components", "schemas"] and len(tokens) > 2:
        component = document["components"]["schemas"].get(tokens[2])
        return not (isinstance(component, dict) and "x-entity" in component)
    return True


_DATA_KEYS = frozenset({"example", "examples", "default", "const", "enum", "value"})
"""Keys whose value is data, not spec, unless they name a property, a response..."""
_NAME_MAPS = frozenset({
    "properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "schemas",
    "responses", "parameters", "examples", "requestBodies", "headers", "securitySchemes", "links",
    "callbacks", "pathItems", "paths", "webhooks", "content", "encoding", "variables"})
"""Keys whose value maps names to objects: those names are never data keys."""


def dangling_refs(document: dict[str, Any], origins: dict[str, str]) -> list[str]:
    """Each internal `$ref` of the bundled document that points nowhere, named where it is.

    >>> dangling_refs({"paths": {"/a": {"$ref": "#/components/pathItems/A"}}}, {"": "api.yaml"})
    ["api.yaml: /paths/~1a: $ref '#/components/pathItems/A' points nowhere"]
    """
    problems: list[str] = []
    stack: list[tuple[Any, list[str | int], bool]] = [(document, [], False)]
    while stack:
        node, tokens, names = stack.pop()
        if isinstance(node, list):
            stack.extend((item, [*tokens, i], False) for i, item in reversed(list(enumerate(node))))
            continue
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and names:  # e.g. `properties: {$ref: ...}`
            problems.append(f"{_where(origins, pointer(tokens))}: $ref {ref!r} stands where "
                            f"{tokens[-1]!s} are named, so nothing follows it; a $ref can only "
                            f"replace a whole object")
        elif isinstance(ref, str) and ref.startswith("#"):
            try:
                resolve_pointer(document, ref)
            except RefError:
                problems.append(f"{_where(origins, pointer(tokens))}: $ref {ref!r} points nowhere")
        for key, value in reversed(list(node.items())):
            if names or not _is_data(key, value):
                stack.append((value, [*tokens, key], not names and key in _NAME_MAPS))
    return list(dict.fromkeys(problems))  # a place served twice (a shared map) is named once


def _is_data(key: str, value: Any) -> bool:
    """Whether a key of a spec object holds data or an extension, where no `$ref` is one
    (a media type's `examples` maps names to Example Objects, which may be references)."""
    if key == "examples" and isinstance(value, dict):
        return False
    return key in _DATA_KEYS or str(key).startswith("x-")


def _parse_yaml(text: str) -> Any:
    """YAML (or JSON) text as data, read as fast as it can be, which on a large spec is much of
    the start-up. A JSON document is read by `jsontext` (JSON's rules, where YAML 1.1 would read
    `1e3` as a string; integers of any size, exactly); one with a number no double holds, or
    `NaN`, goes the YAML way, as before. YAML is read by libyaml's loader, when PyYAML has it
    (its wheels do), about ten times faster than PyYAML's own, which reads a fault again to name
    it in its plainer words.

    >>> _parse_yaml("openapi: 3.1.0"), _parse_yaml('{"x": 1e3, "y": 18446744073709551616}')
    ({'openapi': '3.1.0'}, {'x': 1000.0, 'y': 18446744073709551616})
    """
    if text.lstrip()[:1] == "{":
        with contextlib.suppress(orjson.JSONDecodeError):
            return load_json(text)
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        with contextlib.suppress(yaml.YAMLError):
            return yaml.load(text, Loader=loader)  # a safe loader: plain data only
    return yaml.safe_load(text)

