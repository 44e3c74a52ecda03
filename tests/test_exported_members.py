"""The public surface: `server.__all__` is sorted, complete and importable."""

from __future__ import annotations

import server


def test_all_is_sorted_and_importable() -> None:
    assert server.__all__ == sorted(server.__all__)
    for name in server.__all__:
        assert getattr(server, name) is not None


def test_public_names_are_all_exported() -> None:
    public = {name for name in dir(server) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(server, name)) is type(server)}
    assert public - modules == set(server.__all__)
