"""Loading, bundling and checking specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.spec import SpecError, load_spec, unreferenced_files

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
        f"{SHOWN}/broken_ref/openapi.yaml:4: /paths/~1a: $ref './paths/missing.yaml' cannot be "
        "loaded: No such file or directory",
        f"{SHOWN}/broken_ref/openapi.yaml:13: /paths/~1b/get/responses/200/content/application~1json"
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
    assert problems[0].startswith(f"{SHOWN}/invalid/openapi.yaml:7: /paths/~1a/get/parameters/0: ")
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


@pytest.mark.parametrize("version", ["3.0.3", "3.1.0"])
def test_where_the_validator_trips_the_meta_schema_names_the_place(tmp_path: Path,
                                                                   version: str) -> None:
    # openapi-spec-validator 0.9.0 raises KeyError('responses') on a `responses` that is no
    # object, instead of reporting it.
    (tmp_path / "openapi.yaml").write_text(
        f"openapi: {version}\ninfo: {{title: x, version: '1'}}\npaths:\n  /a:\n    get:\n"
        "      operationId: a\n      responses: 7\n")
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path)
    assert caught.value.problems == [
        f'{tmp_path}/openapi.yaml:7: /paths/~1a/get/responses: 7 is not of type "object"']


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
    # (an example, a default) or an extension is no reference. A place the bundle holds twice
    # (Spliced's properties are Thing's) is named once, where it is written.
    shown = f"{tmp_path}/openapi.yaml"
    assert caught.value.problems == [
        f"{shown}:11: /paths/~1a/get/responses/200/content/application~1json/schema: "
        "$ref '#/components/schemas/Missing' points nowhere",
        f"{shown}:20: /components/schemas/Thing/properties/default: "
        "$ref '#/components/schemas/Nope' points nowhere",
    ]


def test_a_ref_standing_for_a_whole_properties_map_is_served_as_that_map_with_a_warning(
        tmp_path: Path) -> None:
    # DigitalOcean's spec does this: to OpenAPI it is a property named `$ref`, but its author
    # meant the map, as JSON Reference reads it.
    (tmp_path / "openapi.yaml").write_text("""\
openapi: 3.0.3
info: {title: x, version: '1'}
paths: {}
components:
  schemas:
    Local: {type: object, properties: {$ref: '#/components/schemas/Thing/properties'}}
    Remote: {type: object, properties: {$ref: 'attributes.yml#/ids'}}
    Thing: {type: object, properties: {name: {type: string}}}
""")
    (tmp_path / "attributes.yml").write_text(
        "ids: {droplet_ids: {type: array, items: {$ref: '#/id'}}}\nid: {type: integer}\n")
    spec = load_spec(tmp_path)
    schemas = spec.document["components"]["schemas"]
    assert schemas["Local"]["properties"] == {"name": {"type": "string"}}
    assert schemas["Remote"]["properties"] == {
        "droplet_ids": {"type": "array", "items": {"$ref": "#/components/schemas/id"}}}
    assert schemas["id"] == {"type": "integer"}
    shown = f"{tmp_path}/openapi.yaml"
    assert spec.warnings == [
        f"{shown}:{line}: /components/schemas/{name}/properties: $ref {ref!r} stands for the "
        "whole map, where OpenAPI names each entry; served as the map it points at"
        for line, name, ref in [(6, "Local", "#/components/schemas/Thing/properties"),
                                (7, "Remote", "attributes.yml#/ids")]]


def test_discriminator_mappings_that_name_files_follow_the_schemas_they_name(
        tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "openapi.yaml").write_text("""\
openapi: 3.0.3
info: {title: x, version: '1'}
paths:
  /actions:
    post:
      requestBody:
        content:
          application/json:
            schema:
              oneOf:
                - $ref: 'models/attach.yml'
                - $ref: 'models/actions.yml#/detach'
              discriminator:
                propertyName: type
                mapping:
                  attach: 'models/attach.yml'
                  detach: 'models/actions.yml#/detach'
      responses: {'204': {description: done}}
  /others:
    post:
      requestBody:
        content:
          application/json:
            schema: {$ref: 'models/actions.yml#/action'}
      responses: {'204': {description: done}}
""")
    (tmp_path / "models" / "attach.yml").write_text(
        "type: object\nproperties: {type: {type: string}, volume: {type: string}}\n")
    (tmp_path / "models" / "actions.yml").write_text("""\
detach: {type: object, properties: {type: {type: string}}}
resize: {type: object, properties: {type: {type: string}, size: {type: integer}}}
action:
  oneOf: [{$ref: '#/detach'}, {$ref: '#/resize'}]
  discriminator:
    propertyName: type
    mapping: {detach: '#/detach', resize: '#/resize', plain: Named}
""")
    document = load_spec(tmp_path).document
    schemas = document["components"]["schemas"]
    body = document["paths"]["/actions"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["discriminator"]["mapping"] == {
        "attach": "#/components/schemas/attach", "detach": "#/components/schemas/detach"}
    assert [branch["$ref"] for branch in body["schema"]["oneOf"]] == [
        "#/components/schemas/attach", "#/components/schemas/detach"]
    # a pointer into another file is rewritten like a $ref; a schema name is left as it is
    assert schemas["action"]["discriminator"]["mapping"] == {
        "detach": "#/components/schemas/detach", "resize": "#/components/schemas/resize",
        "plain": "Named"}
    assert schemas["resize"]["properties"]["size"] == {"type": "integer"}


def test_a_discriminator_mapping_that_points_nowhere_is_named(tmp_path: Path) -> None:
    (tmp_path / "openapi.yaml").write_text("""\
openapi: 3.0.3
info: {title: x, version: '1'}
paths: {}
components:
  schemas:
    Action:
      oneOf: [{$ref: 'a.yml'}]
      discriminator: {propertyName: type, mapping: {a: 'a.yml', b: 'a.yml#/nothing'}}
""")
    (tmp_path / "a.yml").write_text("type: object\n")
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path)
    assert caught.value.problems == [
        f"{tmp_path / 'openapi.yaml'}:8: /components/schemas/Action/discriminator/mapping/b: "
        "'a.yml#/nothing' points nowhere"]


def test_faults_that_change_no_answer_are_warnings_and_the_rest_problems(
        tmp_path: Path) -> None:
    document = """\
openapi: 3.0.3
info: {title: x, version: '1', description: [not, text]}
tags: [{name: pets, description: {text: no}}]
paths:
  /pets:
    get:
      summary: [not, text]
      parameters: [{name: limit, in: query, schema: {type: integer, default: %s}}]
      responses: {'200': {description: ok}}
components:
  schemas:
    Body:
      type: object
      properties:
        stop: {type: string, default: null}
        description: {type: %s}
    Stored:
      type: object
      x-entity: {}
      properties: {id: {type: integer}, when: {type: string, default: %s}}
"""
    (tmp_path / "openapi.yaml").write_text(document % ("10", "string", "now"))
    spec = load_spec(tmp_path)
    shown = f"{tmp_path}/openapi.yaml"
    assert spec.warnings == [
        f'{shown}:2: /info/description: ["not","text"] is not of type "string"',
        f'{shown}:3: /tags/0/description: {{"text":false}} is not of type "string"',
        f'{shown}:7: /paths/~1pets/get/summary: ["not","text"] is not of type "string"',
        f"{shown}:15: /components/schemas/Body/properties/stop/default: None for not nullable",
        f"{shown}:15: /components/schemas/Body/properties/stop/default: None is not of type "
        "'string'",
    ]
    (tmp_path / "openapi.yaml").write_text(document % ("null", "strin", "null"))
    with pytest.raises(SpecError) as caught:
        load_spec(tmp_path)
    # a parameter's default is filled in, and so is an entity's; a property named `description`
    # is a schema like any other
    problems = [p.removeprefix(shown) for p in caught.value.problems]
    assert problems[0].startswith(":12: /components/schemas/Body: {")  # the validator's summary
    assert problems[1:] == [
        ":8: /paths/~1pets/get/parameters/0/schema/default: None for not nullable",
        ":8: /paths/~1pets/get/parameters/0/schema/default: None is not of type 'integer'",
        ":16: /components/schemas/Body/properties/description/type: 'strin' is not one of "
        "['array', 'boolean', 'integer', 'null', 'number', 'object', 'string']",
        ":20: /components/schemas/Stored/properties/when/default: None for not nullable",
        ":20: /components/schemas/Stored/properties/when/default: None is not of type 'string'",
    ]


def test_files_no_ref_reaches_are_named(tmp_path: Path) -> None:
    (tmp_path / "schemas").mkdir()
    (tmp_path / ".lint").mkdir()
    (tmp_path / "openapi.yaml").write_text("""\
openapi: 3.0.3
info: {title: x, version: '1'}
paths: {}
components:
  schemas:
    Used: {$ref: 'schemas/used.yaml'}
""")
    for name in ("schemas/used.yaml", "schemas/old.yml", "draft.json", ".spectral.yaml",
                 ".lint/rules.yaml"):
        (tmp_path / name).write_text("type: object\n")
    (tmp_path / "README.md").write_text("not a spec file\n")
    spec = load_spec(tmp_path)
    assert spec.files == (tmp_path / "openapi.yaml", tmp_path / "schemas" / "used.yaml")
    assert unreferenced_files(spec, tmp_path) == [
        f"{tmp_path}/draft.json", f"{tmp_path}/schemas/old.yml"]


def test_specs_are_read_by_libyaml_when_pyyaml_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    if not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML without libyaml")
    used: list[str] = []

    class Counting(yaml.CSafeLoader):
        def __init__(self, stream: str) -> None:
            used.append(stream[:7])
            super().__init__(stream)

    monkeypatch.setattr(yaml, "CSafeLoader", Counting)
    spec = load_spec(Path("spec"))
    assert used and spec.document["openapi"].startswith("3.")


def test_a_json_spec_is_read_by_jsons_rules(tmp_path: Path) -> None:
    # YAML 1.1 reads `1e3` as a string; JSON's integers are exact at any size.
    (tmp_path / "openapi.json").write_text("""{"openapi": "3.1.0", "info": {"title": "t",
        "version": "1"}, "paths": {}, "components": {"schemas": {"Big": {"type": "integer",
        "maximum": 1e3, "minimum": -18446744073709551616}}}}""")
    big = load_spec(tmp_path / "openapi.json").document["components"]["schemas"]["Big"]
    assert (big["maximum"], big["minimum"]) == (1000.0, -18446744073709551616)
