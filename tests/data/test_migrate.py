"""Migration: the spec's tables compared with the live database and brought up to date, rows kept.

Runs on SQLite, PostgreSQL and MariaDB/MySQL (skipping a server that is not running), then
`charter migrate` on a SQLite file.
"""

from __future__ import annotations

import copy
import os
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Column, Integer, MetaData, Table, insert, inspect, select, text

from server.cli import main
from server.data.database import Database
from server.data.entities import read_entities
from server.data.migrate import MigrationFailed, MigrationRefused, Step, migrate, plan
from server.data.tables import build_tables
from tests.databases import DIALECTS, database_url
from tests.proxy import free_port

P = f"tmg{os.getpid()}_"  # tables, and so index names, unique to this run
NOTE, FOLDER = f"Tmg{os.getpid()}Note", f"Tmg{os.getpid()}Folder"

V1: dict[str, Any] = {NOTE: {
    "type": "object", "x-entity": {}, "required": ["text"],
    "properties": {"id": {"type": "integer"}, "text": {"type": "string"}},
}}
V2 = copy.deepcopy(V1)
V2[NOTE]["x-entity"] = {"indexes": [["title"]], "relations": {"folder": {"belongsTo": FOLDER}}}
V2[NOTE]["properties"].update(title={"type": "string", "maxLength": 100},
                              folderId={"type": "integer"})
V2[FOLDER] = {"type": "object", "x-entity": {},
              "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}}


def tables(schemas: dict[str, Any]) -> MetaData:
    entities, problems = read_entities({"components": {"schemas": schemas}})
    assert problems == []
    return build_tables(entities)


def descriptions(steps: list[Step]) -> list[str]:
    return [step.description for step in steps]


@pytest.fixture(params=DIALECTS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    database = Database(database_url(request.param, tmp_path))
    _drop_tables(database)
    yield database
    _drop_tables(database)
    database.close()


def _drop_tables(database: Database) -> None:
    every = MetaData()
    for name in ("note", "folder", "other"):  # the referring table first
        table = Table(f"{P}{name}", every, Column("id", Integer, primary_key=True))
        with database.write() as connection:
            table.drop(connection, checkfirst=True)


def notes(db: Database, metadata: MetaData) -> list[tuple[Any, ...]]:
    table = metadata.tables[f"{P}note"]
    with db.read() as connection:
        return [tuple(row) for row in connection.execute(select(table).order_by(table.c.id))]


def test_a_new_database_gets_every_table_once(db: Database) -> None:
    other = MetaData()
    Table(f"{P}other", other, Column("id", Integer, primary_key=True), Column("x", Integer))
    with db.write() as connection:
        other.create_all(connection)  # not the spec's: left alone
    metadata = tables(V2)
    expected = [f"create table {P}folder", f"create table {P}note"]
    assert descriptions(plan(db, metadata)) == expected
    assert descriptions(migrate(db, metadata)) == expected
    assert plan(db, metadata) == []
    assert migrate(db, metadata) == []
    with db.read() as connection:
        found = inspect(connection)
        assert [c["name"] for c in found.get_columns(f"{P}note")] == [
            "id", "text", "title", "folder_id"]
        assert [c["name"] for c in found.get_columns(f"{P}other")] == ["id", "x"]
        assert [i["name"] for i in found.get_indexes(f"{P}note")
                if i["name"] == f"ix_{P}note_title"] == [f"ix_{P}note_title"]


def test_a_table_with_rows_gains_columns_an_index_and_a_key_and_keeps_its_rows(
        db: Database) -> None:
    migrate(db, tables(V1))
    with db.write() as connection:
        connection.execute(insert(tables(V1).tables[f"{P}note"]),
                           [{"text": "one"}, {"text": "two"}])
    metadata = tables(V2)
    expected = [
        Step(f"create table {P}folder"),
        Step(f"add column {P}note.title"),
        Step(f"add column {P}note.folder_id"),
        Step(f"create index ix_{P}note_title"),
        Step(f"add foreign key fk_{P}note_folder_id ({P}note.folder_id -> {P}folder.id)"),
    ]
    assert plan(db, metadata) == expected
    assert migrate(db, metadata) == expected
    assert plan(db, metadata) == []
    assert notes(db, metadata) == [(1, "one", None, None), (2, "two", None, None)]
    with db.write() as connection:  # the new key holds
        connection.execute(text(f"INSERT INTO {P}folder (id, name) VALUES (7, 'f')"))
        connection.execute(text(f"UPDATE {P}note SET folder_id = 7, title = 'a' WHERE id = 1"))
    assert notes(db, metadata)[0] == (1, "one", "a", 7)


def test_drops_wait_for_allow_drop(db: Database) -> None:
    migrate(db, tables(V2))
    with db.write() as connection:
        connection.execute(text(f"INSERT INTO {P}note (id, text, title) VALUES (1, 'one', 'a')"))
    back = tables(V1)
    destructive = [
        Step(f"drop foreign key fk_{P}note_folder_id", True),
        Step(f"drop index ix_{P}note_title", True),
        Step(f"drop column {P}note.folder_id", True),
        Step(f"drop column {P}note.title", True),
    ]
    assert plan(db, back) == destructive
    with pytest.raises(MigrationRefused) as refused:
        migrate(db, back)
    assert str(refused.value) == "\n".join(
        ["migration refused, nothing was changed:"]
        + [f"  - {step.description}: destructive; run `charter migrate --allow-drop` to "
           f"allow it" for step in destructive])
    assert refused.value.refused == destructive
    assert plan(db, back) == destructive
    assert migrate(db, back, allow_drop=True) == destructive
    assert plan(db, back) == []
    assert notes(db, back) == [(1, "one")]


def test_a_required_column_needs_an_empty_table(db: Database) -> None:
    migrate(db, tables(V1))
    required = copy.deepcopy(V1)
    required[NOTE]["properties"]["owner"] = {"type": "string", "maxLength": 40}
    required[NOTE]["required"] = ["text", "owner"]
    assert descriptions(migrate(db, tables(required))) == [f"add column {P}note.owner"]

    migrate(db, tables(V1), allow_drop=True)
    with db.write() as connection:
        connection.execute(text(f"INSERT INTO {P}note (id, text) VALUES (1, 'one')"))
    with pytest.raises(MigrationRefused) as refused:
        migrate(db, tables(required))
    assert str(refused.value) == (
        f"migration refused, nothing was changed:\n  - add column {P}note.owner: the column is "
        f"required and has no default, and {P}note has rows; add it as optional, fill it in, "
        f"then make it required")
    assert descriptions(plan(db, tables(required))) == [f"add column {P}note.owner"]


def test_a_column_becomes_required_once_every_row_has_it(db: Database) -> None:
    migrate(db, tables(V2))
    with db.write() as connection:
        connection.execute(text(f"INSERT INTO {P}note (id, text) VALUES (1, 'one')"))
    required = copy.deepcopy(V2)
    required[NOTE]["required"] = ["text", "title"]
    with pytest.raises(MigrationRefused) as refused:
        migrate(db, tables(required))
    assert str(refused.value).endswith(
        f"  - alter column {P}note.title: not null: some rows of {P}note have no title; "
        f"fill them first")
    with db.write() as connection:
        connection.execute(text(f"UPDATE {P}note SET title = 'a'"))
    assert migrate(db, tables(required)) == [Step(f"alter column {P}note.title: not null")]
    assert plan(db, tables(required)) == []
    assert notes(db, tables(required)) == [(1, "one", "a", None)]


def test_a_longer_string_is_not_destructive_and_a_shorter_one_is(db: Database) -> None:
    migrate(db, tables(V2))
    longer = copy.deepcopy(V2)
    longer[NOTE]["properties"]["title"]["maxLength"] = 200
    [step] = migrate(db, tables(longer))
    assert step.description.startswith(f"alter column {P}note.title: type VARCHAR(100)")
    assert "VARCHAR(200)" in step.description
    assert not step.destructive
    [step] = plan(db, tables(V2))
    assert step.destructive


def test_rows_that_break_a_new_unique_index_stop_the_migration(db: Database) -> None:
    migrate(db, tables(V2))
    with db.write() as connection:
        connection.execute(text(f"INSERT INTO {P}note (id, text, title) VALUES (1, 'a', 'same'), "
                                f"(2, 'b', 'same')"))
    unique = copy.deepcopy(V2)
    unique[NOTE]["x-entity"]["indexes"] = [{"properties": ["title"], "unique": True}]
    with pytest.raises(MigrationFailed) as failed:
        migrate(db, tables(unique), allow_drop=True)
    message = str(failed.value)
    assert f"create unique index uq_{P}note_title" in message
    assert "failed: A row with the same " in message
    if db.dialect != "mysql":
        assert message.endswith("failed: A row with the same title already exists. "
                                "Nothing was changed.")
        assert descriptions(plan(db, tables(unique))) == [
            f"drop index ix_{P}note_title", f"create unique index uq_{P}note_title"]


def test_a_new_foreign_key_needs_rows_that_refer_to_something(db: Database) -> None:
    unrelated = copy.deepcopy(V2)
    del unrelated[NOTE]["x-entity"]["relations"]
    migrate(db, tables(unrelated))
    with db.write() as connection:
        connection.execute(text(f"INSERT INTO {P}note (id, text, folder_id) VALUES (1, 'a', 42)"))
    with pytest.raises(MigrationFailed) as failed:
        migrate(db, tables(V2))
    kept = ("MariaDB/MySQL cannot roll back DDL: the steps before it stay applied."
            if db.dialect == "mysql" else "Nothing was changed.")
    assert str(failed.value) == (
        f"add foreign key fk_{P}note_folder_id ({P}note.folder_id -> {P}folder.id) failed: "
        f"A referenced row does not exist. {kept}")
    assert notes(db, tables(V2)) == [(1, "a", None, 42)]


def test_migrations_started_together_take_turns(db: Database) -> None:
    """Each worker process may migrate at start-up; the second finds nothing left to do."""
    other = Database(db.url.render_as_string(hide_password=False))
    start = threading.Barrier(2)

    def run(database: Database) -> list[str]:
        start.wait()
        return descriptions(migrate(database, tables(V2)))

    try:
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(run, [db, other]))
    finally:
        other.close()
    assert sorted(results) == [[], [f"create table {P}folder", f"create table {P}note"]]


# -- charter migrate ------------------------------------------------------------------------

def write_spec(folder: Path, schemas: dict[str, Any]) -> Path:
    folder.mkdir(exist_ok=True)
    document = {"openapi": "3.0.3", "info": {"title": "Notes", "version": "1"}, "paths": {},
                "components": {"schemas": schemas}}
    (folder / "openapi.yaml").write_text(yaml.safe_dump(document))
    return folder


NOTE_SPEC = {"Note": {"type": "object", "x-entity": {},
                      "properties": {"id": {"type": "integer"}, "text": {"type": "string"}}}}


@pytest.fixture
def sqlite_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data" / "app.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    return path


def test_charter_migrate_creates_then_finds_nothing_to_do(
        tmp_path: Path, sqlite_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = str(write_spec(tmp_path / "spec", NOTE_SPEC))
    assert main(["migrate", "--spec", spec, "--dry-run"]) == 0
    assert capsys.readouterr().out == ("  + create table note\n"
                                       "charter: 1 change to apply (dry run, nothing changed)\n")
    assert main(["migrate", "--spec", spec]) == 0
    assert capsys.readouterr().out == "  + create table note\ncharter: 1 change applied\n"
    assert main(["migrate", "--spec", spec]) == 0
    assert capsys.readouterr().out == "charter: the database is up to date\n"

    grown = copy.deepcopy(NOTE_SPEC)
    grown["Note"]["properties"]["done"] = {"type": "boolean"}
    grown["Note"]["x-entity"] = {"indexes": [["done"]]}
    write_spec(tmp_path / "spec", grown)
    assert main(["migrate", "--spec", spec]) == 0
    assert capsys.readouterr().out == ("  + add column note.done\n  + create index ix_note_done\n"
                                       "charter: 2 changes applied\n")


def test_charter_migrate_refuses_a_drop_unless_allowed(
        tmp_path: Path, sqlite_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    grown = copy.deepcopy(NOTE_SPEC)
    grown["Note"]["properties"]["done"] = {"type": "boolean"}
    spec = str(write_spec(tmp_path / "spec", grown))
    assert main(["migrate", "--spec", spec]) == 0
    write_spec(tmp_path / "spec", NOTE_SPEC)
    capsys.readouterr()
    assert main(["migrate", "--spec", spec]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"charter: cannot migrate sqlite:///{sqlite_file}: migration refused, nothing was "
        f"changed:\n  - drop column note.done: destructive; run `charter migrate --allow-drop` "
        f"to allow it\n")
    assert main(["migrate", "--spec", spec, "--allow-drop"]) == 0
    assert capsys.readouterr().out == "  - drop column note.done\ncharter: 1 change applied\n"


def test_charter_migrate_reports_a_bad_spec_or_database_without_a_traceback(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    broken = {"Note": {"type": "object", "x-entity": {"id": "key"},
                       "properties": {"text": {"type": "string"}}}}
    spec = str(write_spec(tmp_path / "broken", broken))
    assert main(["migrate", "--spec", spec]) == 1
    assert capsys.readouterr().err == (
        "charter: cannot start, 1 problem:\n"
        "  - /components/schemas/Note/x-entity/id: no property 'key' to be the id\n")

    spec = str(write_spec(tmp_path / "spec", NOTE_SPEC))
    monkeypatch.setenv("DATABASE_URL", "oracle://scott:tiger@db/orcl")
    assert main(["migrate", "--spec", spec]) == 1
    assert capsys.readouterr().err == (
        "charter: cannot open DATABASE_URL: oracle is not a database Charter supports: use "
        "sqlite://, postgresql:// or mysql:// (mariadb://)\n")

    port = free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://charter:secret@127.0.0.1:{port}/none")
    assert main(["migrate", "--spec", spec]) == 1
    assert capsys.readouterr().err == (
        f"charter: cannot migrate postgresql+psycopg://charter:***@127.0.0.1:{port}/none: "
        f"The database is unavailable. Try again later.\n")
