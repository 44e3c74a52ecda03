"""Loading, bundling and checking specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.spec import SpecError, load_spec

FIXTURES = Path(__file__).parent / "fixtures" / "specs"
SHOWN = "tests/fixtures/specs"


@pytest.fixture(autouse=True)
def _in_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(Path(__file__).parent.parent)


def test_bundles_many_files_into_one_document_with_internal_refs() -> None:
    spec = load_spec(FIXTURES / "multifile")
    assert spec.version == "3.0"
    document = spec.document
    operation = document["paths"]["/nodes/{id}"]["get"]
    assert operation["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/Node"}
    node = document["components"]["schemas"]["Node"]
    # recursive: the schema refers to itself by its component name, and stays finite
    assert node["properties"]["children"]["items"] == {"$ref": "#/components/schemas/Node"}
    # a file-local `#/definitions/Meta` became a component of its own
    assert node["properties"]["meta"] == {"$ref": "#/components/schemas/Meta"}
    assert document["components"]["schemas"]["Meta"]["properties"]["tags"]["type"] == "array"
    assert "definitions" not in node


def test_every_ref_left_is_internal() -> None:
    document = load_spec(FIXTURES / "multifile").document

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    assert refs(document) and all(ref.startswith("#/") for ref in refs(document))


def test_accepts_a_file_path_and_openapi_31() -> None:
    spec = load_spec(FIXTURES / "v31" / "openapi.yaml")
    assert spec.version == "3.1"
    assert [(p, m) for p, m, _, _ in spec.operations()] == [("/things", "post")]


def test_broken_refs_name_file_location_and_fault() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(FIXTURES / "broken_ref")
    assert caught.value.problems == [
        f"{SHOWN}/broken_ref/openapi.yaml: /paths/~1a: $ref './paths/missing.yaml' cannot be "
        "loaded: No such file or directory",
        f"{SHOWN}/broken_ref/openapi.yaml: /paths/~1b/get/responses/200/content/application~1json"
        "/schema: $ref './schemas.yaml#/Nope' points nowhere (no /Nope in schemas.yaml)",
    ]


def test_invalid_yaml_names_line_and_column() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(FIXTURES / "bad_yaml")
    assert caught.value.problems == [
        f"{SHOWN}/bad_yaml/openapi.yaml: line 3, column 1: invalid YAML: "
        "expected ',' or '}', but got '<scalar>'"
    ]


def test_schema_faults_are_reported_with_their_location() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(FIXTURES / "invalid")
    problems = caught.value.problems
    assert problems[0].startswith(f"{SHOWN}/invalid/openapi.yaml: /paths/~1a/get/parameters/0: ")
    assert any("'strin' is not one of" in p for p in problems)


def test_duplicate_operation_ids_are_refused() -> None:
    with pytest.raises(SpecError) as caught:
        load_spec(FIXTURES / "duplicate_ids")
    assert caught.value.problems == [
        f"{SHOWN}/duplicate_ids/openapi.yaml: /: Operation ID 'Same.op' for 'get' in '/b' is "
        "not unique"
    ]


def test_missing_spec_and_unsupported_version(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="no such file or folder"):
        load_spec(tmp_path / "nope.yaml")
    with pytest.raises(SpecError, match=r"no openapi\.yaml, openapi\.yml, openapi\.json"):
        load_spec(tmp_path)
    (tmp_path / "openapi.yaml").write_text("openapi: 2.0.0\ninfo: {title: x, version: '1'}\n")
    with pytest.raises(SpecError, match=r"unsupported version '2\.0\.0'"):
        load_spec(tmp_path)


def test_circular_non_schema_refs_are_refused(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text(
        "openapi: 3.0.3\ninfo: {title: x, version: '1'}\npaths:\n  /a: {$ref: './a.yaml'}\n")
    (tmp_path / "a.yaml").write_text("$ref: './a.yaml'\n")
    with pytest.raises(SpecError, match="is circular"):
        load_spec(tmp_path)


def test_every_dangling_internal_ref_is_named_where_it_is(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text("""\
openapi: 3.1.0
info: {title: x, version: '1'}
paths:
  /a:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Missing'}
              example: {$ref: '#/not/a/reference'}
components:
  schemas:
    Thing:
      type: object
      x-note: {$ref: '#/not/a/reference/either'}
      default: {$ref: '#/data/too'}
      properties:
        default: {$ref: '#/components/schemas/Nope'}
        fine: {$ref: '#/components/schemas/Thing'}
    Spliced:
      type: object
      properties: {$ref: '#/components/schemas/Thing/properties'}
""")
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path)
    # All, at once, with file and place, and never the whole document; a `$ref` inside data
    # (an example, a default) or an extension is no reference. DigitalOcean's spec has the last
    # kind: `properties: {$ref: ...}`.
    shown = f"{tmp_path}/openapi.yaml"
    assert caught.value.problems == [
        f"{shown}: /paths/~1a/get/responses/200/content/application~1json/schema: "
        "$ref '#/components/schemas/Missing' points nowhere",
        f"{shown}: /components/schemas/Thing/properties/default: "
        "$ref '#/components/schemas/Nope' points nowhere",
        f"{shown}: /components/schemas/Spliced/properties: $ref "
        "'#/components/schemas/Thing/properties' stands where properties are named, so nothing "
        "follows it; a $ref can only replace a whole object",
    ]
