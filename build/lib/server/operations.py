"""Operations: one frozen object per (method, path), compiled once from the spec and handlers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from server.binding import (
    BODY,
    PRINCIPAL,
    Binder,
    Binding,
    Handlers,
    Invoke,
    SpecArguments,
    bind,
)
from server.bodies import BodyParser, compile_body
from server.errors import (
    ERROR_MEDIA_TYPES,
    NotImplementedYet,
    ResponseValidationFailed,
    error_body,
    sample_error,
)
from server.interceptors import Intercepted, compile_chain, declared, intercepted
from server.jsontext import load_json
from server.parameters import (
    ParameterParser,
    RequestParts,
    compile_parameters,
    merge_parameters,
)
from server.refs import deref
from server.requests import Request
from server.responses import Response, dump_json
from server.security import Guard, Security
from server.settings import Settings
from server.spec import Spec
from server.validation import SchemaValidators, Validator

logger = logging.getLogger("charter")

_NO_CONTENT = Response(None, status=204)


@dataclass(frozen=True, slots=True)
class Operation:
    """Everything needed to serve one operation, built at start-up; only looked up per request."""

    method: str
    path: str
    operation_id: str | None
    target: str
    parameters: ParameterParser | None
    reads_cookies: bool
    """Whether a parameter is a cookie: only then is the Cookie header parsed."""
    body: BodyParser | None
    invoke: Invoke
    body_keyword: str | None
    """The handler's argument for the body; None when the handler does not take it."""
    success_status: int
    no_content: bool
    response_validators: Mapping[int, Validator]
    response_validation: str
    error_formats: Mapping[str, tuple[str, str]]
    """The body format and media type of its errors, by the status (`"400"`) or range (`"4XX"`)
    the operation documents an error response for; the others are in the settings' format."""
    unfilled_errors: frozenset[str]
    """Documented error responses no error body of Charter's can match: it publishes its own."""
    interceptors: tuple[str, ...] = ()
    """The interceptors `invoke` runs the handler inside, by name, the outermost first."""
    guard: Guard | None = None
    """Its security requirements, checked before anything else of the request is read."""
    principal_keyword: str | None = None
    """The handler's argument for who made the request; None when it does not take it."""

    def error_format(self, status: int) -> tuple[str, str] | None:
        """The format and media type of an error of `status`, where the spec documents one."""
        return (self.error_formats.get(str(status))
                or self.error_formats.get(f"{str(status)[0]}XX"))

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def parse(self, parts: RequestParts, content_type: str | None, body: bytes) -> dict[str, Any]:
        """Coerce and validate every input; return the handler's keyword arguments."""
        values = self.parameters.parse(parts) if self.parameters is not None else {}
        if self.body is not None:
            parsed = self.body.parse(content_type, body)
            if parsed is not None and self.body_keyword is not None:
                values[self.body_keyword] = parsed
        return values

    def render(self, result: Any) -> Response:
        """Turn a handler's result into a response: the one place results are written."""
        if isinstance(result, Intercepted):  # headers the interceptors added
            rendered = self.render(result.result)
            headers = {**rendered.headers, **{k.lower(): v for k, v in result.headers.items()}}
            if rendered.media_type and "content-type" not in headers:
                headers["content-type"] = rendered.media_type
            return Response.raw(rendered.status, headers, rendered.body)
        if isinstance(result, Response):
            response = result
        elif result is None and self.no_content:
            return _NO_CONTENT
        else:
            response = Response.json(self.success_status, dump_json(result))
        if self.response_validation != "off":
            self._check(response)
        return response

    def _check(self, response: Response) -> None:
        validator = self.response_validators.get(response.status)
        if validator is None or "json" not in (response.media_type or ""):
            return
        try:
            errors = validator.errors(load_json(response.body))
        except orjson.JSONDecodeError:
            errors = [{"path": "", "code": "json", "message": "response body is not JSON",
                       "info": {}}]
        if not errors:
            return
        message = (f"The response of {self.operation_id or self.label} ({self.label}, status "
                   f"{response.status}) does not match the spec: "
                   + "; ".join(f"{e['path'] or '/'} {e['message']}" for e in errors[:5]))
        if self.response_validation == "log":
            logger.warning("%s", message)
            return
        raise ResponseValidationFailed(message, details=errors)


def compile_operations(
    spec: Spec,
    validators: SchemaValidators,
    handlers: Handlers | None,
    dependencies: Iterable[str],
    settings: Settings,
    binders: Sequence[Binder] = (),
    security: Security | None = None,
    stand_in: Callable[[str, Mapping[str, Any]], Invoke] | None = None,
) -> tuple[list[Operation], list[str], set[str]]:
    """Compile every operation in the spec. Returns `(operations, problems, unbound labels)`.

    Each operation is bound by the first of `binders` that answers it (the data layer's derived
    controllers, which leave to the package what a plain handler answers), else by the handlers
    package, else it is unbound: a problem, unless `allow_unbound`, where `stand_in(label,
    operation)` answers it (the mock's), or else a 501.
    """
    document = spec.document
    dependencies = set(dependencies)
    operations: list[Operation] = []
    problems: list[str] = []
    unbound: set[str] = set()
    for path, method, raw, item in spec.operations():
        label = f"{method.upper()} {path}"
        parameters = merge_parameters(document, item.get("parameters") or [],
                                      raw.get("parameters") or [])
        request_body = deref(document, raw["requestBody"]) if "requestBody" in raw else None
        args = SpecArguments(
            label=f"{label} (operationId {raw.get('operationId')!r})",
            parameters=tuple((p["name"], p["in"], bool(p.get("required"))) for p in parameters),
            has_body=request_body is not None,
        )
        binding: Binding | None = None
        found: list[str] = []  # without a handlers package, its import error says it all
        for binder in binders:
            binding, found = binder(raw, args, handlers, dependencies)
            if binding is not None or found:
                break
        else:
            if handlers is not None:
                binding, found = bind(raw, args, handlers, dependencies)
        if binding is None:
            if not settings.allow_unbound:
                problems += found
                continue
            unbound.add(label)
        interceptor_names = declared(document, raw)
        chain, more, missing = compile_chain(interceptor_names, handlers, dependencies)
        if settings.allow_unbound and more == missing:
            for problem in missing:  # not written yet: served without, as unbound handlers are
                logger.warning("WARNING: %s: %s; the operation runs without it, as "
                               "--allow-unbound allows.", label, problem)
            interceptor_names = [i.name for i in chain]
        elif more:
            problems += [f"{label}: {problem}" for problem in more]
            continue
        arguments = binding.arguments if binding else {}
        try:
            keys = {p["name"]: arguments.get(p["name"]) for p in parameters}
            parameter_parser = (compile_parameters(parameters, validators, document, keys)
                                if parameters else None)
            body_parser = compile_body(request_body, validators, document)
        except Exception as exc:  # a schema the validator cannot compile is a contract fault
            problems.append(f"{label}: cannot compile its schemas: {exc}")
            continue
        success, no_content, response_validators = _responses(
            document, raw, validators if settings.response_validation != "off" else None)
        error_formats, unfilled = _error_formats(document, raw, validators,
                                                 settings.error_format)
        operations.append(Operation(
            method=method.upper(),
            path=path,
            operation_id=raw.get("operationId"),
            target=(binding.target if binding else "(mock)" if stand_in is not None
                    else "(unbound: 501)"),
            parameters=parameter_parser,
            reads_cookies=any(p["in"] == "cookie" for p in parameters),
            body=body_parser,
            invoke=intercepted(binding.invoke if binding
                               else stand_in(label, raw) if stand_in is not None
                               else _not_implemented(label, raw.get("operationId")),
                               chain, raw.get("operationId"), label),
            interceptors=tuple(interceptor_names),
            guard=security.guard(raw) if security is not None else None,
            principal_keyword=arguments.get(PRINCIPAL),
            body_keyword=arguments.get(BODY),
            success_status=success,
            no_content=no_content,
            response_validators=response_validators,
            response_validation=settings.response_validation,
            error_formats=error_formats,
            unfilled_errors=frozenset(unfilled),
        ))
    return operations, problems, unbound


def _responses(
    document: dict[str, Any], operation: Mapping[str, Any], validators: SchemaValidators | None,
) -> tuple[int, bool, dict[int, Validator]]:
    """The status a success answers with, whether 204 is one, and the validators of the
    JSON responses (none when `validators` is None: response validation is off)."""
    responses = operation.get("responses") or {}
    statuses = sorted(int(code) for code in responses if str(code).isdigit())
    success = [s for s in statuses if 200 <= s < 300]
    data_success = [s for s in success if s != 204]
    success_status = data_success[0] if data_success else (success[0] if success else 200)
    validators_by_status: dict[int, Validator] = {}
    for code, raw in responses.items():
        if validators is None or not str(code).isdigit():
            continue
        response = deref(document, raw)
        for media_type, media in (response.get("content") or {}).items():
            if "json" in media_type and isinstance(media, dict) and "schema" in media:
                validators_by_status[int(code)] = validators.compile(media["schema"], "response")
                break
    return success_status, 204 in success, validators_by_status


def _error_formats(document: dict[str, Any], operation: Mapping[str, Any],
                   validators: SchemaValidators,
                   preferred: str) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """For each error response the operation documents with content (by status or range), the
    error format and media type that conform to it: the settings' format first, then the other,
    each under a documented JSON media type (its own first) whose schema its body matches.
    A documented response none fits is named among the unfilled: Charter publishes what it
    sends there."""
    formats: dict[str, tuple[str, str]] = {}
    unfilled: list[str] = []
    shapes = [preferred, *(shape for shape in ERROR_MEDIA_TYPES if shape != preferred)]
    for code, raw in (operation.get("responses") or {}).items():
        code = str(code).upper()
        if not (code[0] in "45" and (code[1:].isdigit() or code[1:] == "XX")):
            continue
        content = deref(document, raw).get("content") or {}
        status = int(code.replace("XX", "00"))
        documented = [(media_type, media) for media_type, media in content.items()
                      if "json" in media_type or media_type in ("*/*", "application/*")]
        if not content:
            continue
        chosen = next((choice for shape in shapes
                       for choice in _fits(shape, status, documented, validators)), None)
        if chosen is None:
            unfilled.append(code)
        else:
            formats[code] = chosen
    return formats, unfilled


def _fits(shape: str, status: int, documented: list[tuple[str, Any]],
          validators: SchemaValidators) -> Iterator[tuple[str, str]]:
    """The documented media types an error body of `shape` may be sent as: its own first, then
    plain JSON; problem details' media type says the body is one, so it carries no other."""
    own = ERROR_MEDIA_TYPES[shape]
    sample = sample_error(status)
    instance = error_body(sample, sample.message, shape)
    for media_type, media in sorted(documented, key=lambda item: item[0] != own):
        if "problem+json" in media_type and shape != "problem":
            continue
        schema = media.get("schema") if isinstance(media, dict) else None
        if schema is None or validators.compile(schema, "response").is_valid(instance):
            yield (shape, own if "*" in media_type else media_type)


def _not_implemented(label: str, operation_id: Any) -> Invoke:
    async def not_implemented(request: Request, kwargs: dict[str, Any]) -> Any:
        raise NotImplementedYet(f"{label} (operationId {operation_id!r}) has no handler yet.")
    return not_implemented
