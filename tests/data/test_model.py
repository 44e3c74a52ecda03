"""The data model: a spec's entities read, what they imply derived, their database opened."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.binding import Handlers
from server.data.model import read_model
from server.data.repository import Repository
from server.settings import Settings
from server.spec import load_spec

SPEC = """\
openapi: 3.0.3
info: {title: notes, version: '1'}
paths: {}
components:
  schemas:
    Note:
      type: object
      x-entity: {table: model_note}
      x-crud: /notes
      properties:
        id: {type: integer}
        text: {type: string}
"""


def spec_in(folder: Path, text: str = SPEC) -> Path:
    (folder / "openapi.yaml").write_text(text)
    return folder


def test_a_spec_without_entities_comes_back_as_it_was(tmp_path: Path) -> None:
    spec = load_spec(spec_in(tmp_path, "openapi: 3.0.3\ninfo: {title: x, version: '1'}\n"
                                       "paths: {}\n"))
    assert read_model(spec) == (spec, None, [])


def test_entities_imply_their_crud_and_tables(tmp_path: Path) -> None:
    derived, model, problems = read_model(load_spec(spec_in(tmp_path)))
    assert problems == [] and model is not None
    assert set(derived.document["paths"]) == {"/notes", "/notes/count", "/notes/{id}"}
    assert list(model.entities) == ["Note"] and "model_note" in model.metadata.tables


def test_the_database_opens_with_a_service_per_repository_and_says_what_it_lacks(
        tmp_path: Path) -> None:
    _, model, _ = read_model(load_spec(spec_in(tmp_path)))
    assert model is not None
    url = f"sqlite:///{tmp_path}/notes.db"
    services = model.open(Settings.from_env({}, database_url=url))
    try:
        assert set(services) == {"database", "repositories", "note_repository"}
        assert model.pending(services["database"]) == ["create table model_note"]
    finally:
        services["database"].close()
    services = model.open(Settings.from_env({}, database_url=url, migrate=True))
    try:
        assert model.pending(services["database"]) == []
        assert services["note_repository"].create({"text": "a"}) == {"id": 1, "text": "a"}
    finally:
        services["database"].close()


def test_a_repository_class_is_found_by_its_name_and_must_subclass_repository(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, model, _ = read_model(load_spec(spec_in(tmp_path)))
    assert model is not None
    for package, body in [("model_good", "class NoteRepository(Repository):\n    pass\n"),
                          ("model_bad", "class NoteRepository:\n    pass\n")]:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text(
            f"from server.data.repository import Repository\n\n\n{body}")
    monkeypatch.syspath_prepend(str(tmp_path))
    classes, problems = model.repository_classes(Handlers("model_good"))
    assert [cls.__qualname__ for cls in classes.values()] == ["NoteRepository"]
    assert issubclass(classes["Note"], Repository) and problems == []
    classes, problems = model.repository_classes(Handlers("model_bad"))
    assert classes == {}
    assert problems == ["model_bad.NoteRepository would replace Note's repository, but does not "
                        "subclass server.Repository"]
    assert model.repository_classes(None) == ({}, [])
