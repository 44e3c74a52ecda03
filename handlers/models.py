"""The Todo entity: its table, and its JSON shape (LoopBack's property names)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Todo(Base):
    __tablename__ = "todo"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str]
    desc: Mapped[str | None]
    is_complete: Mapped[bool | None]
    remind_at_address: Mapped[str | None]
    remind_at_geo: Mapped[str | None]
    # Any JSON; a JSON `null` is stored as SQL NULL and, like every unset property, not sent.
    tag: Mapped[Any] = mapped_column(JSON(none_as_null=True), nullable=True)

    def to_json(self) -> dict[str, Any]:
        """The todo as the API shows it: LoopBack's property names, unset properties left out."""
        values = {prop: getattr(self, attr) for prop, attr in PROPERTIES.items()}
        return {prop: value for prop, value in values.items() if value is not None}

    def assign(self, data: dict[str, Any]) -> None:
        """Set the properties present in `data` (API names). The id is never assigned."""
        for prop, value in data.items():
            if prop != "id":
                setattr(self, PROPERTIES[prop], value)


PROPERTIES: dict[str, str] = {
    "id": "id",
    "title": "title",
    "desc": "desc",
    "isComplete": "is_complete",
    "remindAtAddress": "remind_at_address",
    "remindAtGeo": "remind_at_geo",
    "tag": "tag",
}
"""API property name -> attribute of `Todo`, in the order the API shows them."""
