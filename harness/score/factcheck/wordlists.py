"""The fact checker's word lists and tables: UTF-8 files in `data/`, read once per process.

Every file starts with a comment saying what it holds and its format. One entry a line; blank
lines and lines starting with "#" are skipped; the columns of a `.tsv` file are separated by tabs.
The files ship in the wheel as package data (`pyproject.toml`).
"""

from __future__ import annotations

from functools import cache
from importlib import resources

NONE = "-"  # a table cell with no value


_PACKAGE = __name__.rpartition(".")[0]


@cache
def words(name: str) -> tuple[str, ...]:
    """The entries of data file `name`, in file order."""
    text = resources.files(_PACKAGE).joinpath("data").joinpath(name).read_text(encoding="utf-8")
    lines = (line.strip() for line in text.splitlines())
    return tuple(line for line in lines if line and not line.startswith("#"))


@cache
def groups(name: str) -> tuple[tuple[str, ...], ...]:
    """The rows of a tab-separated data file, in file order."""
    return tuple(tuple(cell.strip() for cell in line.split("\t")) for line in words(name))


def table(name: str, columns: int) -> tuple[tuple[str, ...], ...]:
    """The rows of a tab-separated data file, each with exactly `columns` cells."""
    rows = groups(name)
    for row in rows:
        if len(row) != columns:
            raise ValueError(f"{name}: {columns} tab-separated columns expected, got {row!r}")
    return rows


def optional(value: str) -> str | None:
    """A table cell, None for "-"."""
    return None if value == NONE else value


@cache
def group_kinds(name: str) -> tuple[str | None, ...]:
    """The kind of each row of `groups(name)`: the "[kind]" of the last "# [kind] title" comment
    line above it (None before the first)."""
    text = resources.files(_PACKAGE).joinpath("data").joinpath(name).read_text(encoding="utf-8")
    kinds: list[str | None] = []
    kind: str | None = None
    for line in (line.strip() for line in text.splitlines()):
        if line.startswith("# [") and "]" in line:
            kind = line[3 : line.index("]")]
        elif line and not line.startswith("#"):
            kinds.append(kind)
    return tuple(kinds)
