"""The evaluation item: one source article and its human 要点解析 reference."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REQUIRED_FIELDS = ("id", "title", "url", "source", "reference")
OPTIONAL_FIELDS = ("date", "section", "metadata")


@dataclass(frozen=True)
class Item:
    """One evaluation item.

    `source` is the article the model is given; `reference` is the list of human key-point
    bullets (要点解析) the generated digest is scored against.
    """

    id: str
    title: str
    url: str
    source: str
    reference: tuple[str, ...]
    date: str | None = None
    section: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def reference_text(self) -> str:
        """The reference bullets joined one per line (the unit ROUGE-Lsum splits on)."""
        return "\n".join(self.reference)
