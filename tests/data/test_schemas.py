"""The schemas an entity implies: its bodies, and its filter's, which the compiler agrees with."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import MetaData

from server.data.derive import derive
from server.data.entities import read_entities
from server.data.filters import Filters, Source
from server.data.schemas import entity_schemas, value_schema
from server.data.tables import build_tables
from server.errors import InvalidParameterValue
from server.validation import SchemaValidators

SCHEMAS: dict[str, Any] = {
    "Note": {
        "type": "object", "x-entity": {"table": "schemas_note"}, "required": ["text"],
        "properties": {"id": {"type": "integer"}, "text": {"type": "string", "maxLength": 20},
                       "rank": {"type": "integer", "format": "int32"},
                       "done": {"type": "boolean"}, "tag": {}},
    },
}


@pytest.mark.parametrize("version", ["3.0", "3.1"])
def test_every_variant_of_an_entity_is_named(version: str) -> None:
    document = {"components": {"schemas": SCHEMAS}}
    note = read_entities(document)[0]["Note"]
    schemas = entity_schemas(note, document, version)
    assert set(schemas) == {"NewNote", "NotePartial", "NoteWithRelations", "Note.Where",
                            "Note.Fields", "Note.OrderKey", "Note.Order", "Note.Filter",
                            "Note.Filter1"}
    assert "id" not in schemas["NewNote"]["properties"]  # generated: never sent
    assert schemas["NewNote"]["required"] == ["text"] and "required" not in schemas["NotePartial"]
    assert schemas["NewNote"]["properties"]["text"]["maxLength"] == 20
    assert "tag" not in schemas["Note.OrderKey"]["enum"][-1]  # JSON is not ordered by
    nullable = value_schema(note.properties["rank"], version, nullable=True)
    assert nullable == ({"type": "integer", "format": "int32", "nullable": True}
                        if version == "3.0" else {"type": ["integer", "null"], "format": "int32"})


WHERES = [
    {"text": "a"},
    {"rank": {"gt": 2}, "done": False},
    {"or": [{"text": {"like": "a%"}}, {"rank": {"inq": [1, 2]}}]},
    {"rank": {"between": [1, 5]}},
    {"text": {"regexp": "^a"}},
    {"tag": {"exists": True}},
    {"nope": 1},
    {"rank": {"like": "a"}},
    {"text": {"between": ["a"]}},
    {"tag": {"eq": 1}},
    {"rank": {"unknown": 1}},
    {"or": {"text": "a"}},
]


@pytest.mark.parametrize("where", WHERES, ids=[str(w) for w in WHERES])
def test_the_published_where_and_the_compiler_agree(where: dict[str, Any]) -> None:
    """What the derived `Note.Where` accepts the compiler accepts, and what it refuses the
    compiler refuses too (a 400 either way): clients and the server read one language."""
    document = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
                "components": {"schemas": SCHEMAS}}
    entities = read_entities(document)[0]
    derived = derive(document, entities)
    validators = SchemaValidators(derived, "3.1")
    published = validators.compile({"$ref": "#/components/schemas/Note.Where"}).is_valid(where)
    metadata: MetaData = build_tables(entities)
    filters = Filters(entities["Note"], metadata.tables["schemas_note"])
    try:
        filters.where_shape(where, Source("where", where))
        compiled = True
    except InvalidParameterValue:
        compiled = False
    assert published == compiled


def test_the_compiler_takes_a_null_the_published_where_refuses() -> None:
    """`{"id": null}` on a property not declared nullable: over HTTP the parameter's schema
    refuses it (400); a script calling the repository gets what SQL says (IS NULL)."""
    document = {"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
                "components": {"schemas": SCHEMAS}}
    entities = read_entities(document)[0]
    validators = SchemaValidators(derive(document, entities), "3.1")
    assert not validators.compile({"$ref": "#/components/schemas/Note.Where"}).is_valid(
        {"id": None})
    filters = Filters(entities["Note"], build_tables(entities).tables["schemas_note"])
    assert filters.where_shape({"id": None}, Source("where", {})) == (("null", "id", True), [])
