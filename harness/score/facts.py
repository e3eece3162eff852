"""The facts metric: share of a digest's numbers and named entities that its source does not support.

ROUGE and BERTScore reward wording; a digest loses its readers' trust over one wrong number or one
made-up company. This metric needs no model, is always on and costs nothing: the checker in
`harness.score.factcheck` reports, per item, the share of the digest's quantities and entities that
the source does not support, and the offending strings as evidence. docs/facts.md describes what is
checked, how it was measured and what it misses.

FactsScorer checks each generated bullet against what the model was shown: the item's title,
date and source (a year taken from the item's date is not an invention). A model name with a
number (GPT-5) is both a quantity and a Latin-script entity, so a changed version can show in both
lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from harness.data.schema import Item
from harness.score.base import MetricResult, score_each
from harness.score.registry import Column, Metric, register

if TYPE_CHECKING:
    from harness.score.factcheck.quantities import Quantity

# The checker (its patterns and word lists) is imported on first use: the registry imports this
# module whenever the leaderboard is built.

METRIC_VERSION = "facts/5"
NUMBERS_METHOD = "facts-numbers/3"
ENTITIES_METHOD = "facts-entities/3"
VALUE_KEYS = (
    "facts_number_unsupported_rate",
    "facts_entity_unsupported_rate",
    "facts_numbers",
    "facts_entities",
)


def source_context(item: Item) -> str:
    """What the model was given and may draw facts from: title, date and source (see the prompts)."""
    return "\n".join(part for part in (item.title, item.date or "", item.source) if part)


class FactsScorer:
    """Share of the digest's numbers and entities that its source does not support."""

    name = "facts"
    # Item fields the numbers depend on (`source_context`): results are kept in the score cache.
    cache_inputs = ("title", "date", "source")

    def meta(self) -> dict[str, Any]:
        """Everything that determines the numbers."""
        import jieba

        from harness.score.factcheck.entities import ENTITY_TAGS
        from harness.score.factcheck.lexicon import ENTITY_GROUPS

        return {
            "numbers": NUMBERS_METHOD,
            "entities": ENTITIES_METHOD,
            "jieba": jieba.__version__,
            "entity_pos_tags": list(ENTITY_TAGS),
            "lexicon_groups": len(ENTITY_GROUPS),
            "context": "item title + date + source",
            "counting": "mentions, per bullet; evidence lists unique strings",
            "empty_output": "all values 0.0",
            "metric_version": METRIC_VERSION,
        }

    def score(self, items: Sequence[Item], candidates: Sequence[Sequence[str]]) -> list[MetricResult]:
        """Score candidates[i] (a list of generated bullets) against items[i].source."""
        return score_each(items, candidates, self._score_one)

    def _score_one(self, item: Item, bullets: Sequence[str]) -> MetricResult:
        from harness.score.factcheck.entity_support import entity_check
        from harness.score.factcheck.quantity_support import quantity_check
        from harness.score.factcheck.text import unique

        bullets = [b for b in bullets if b and b.strip()]
        if not bullets:
            return MetricResult(values=dict.fromkeys(VALUE_KEYS, 0.0), flags=["empty_output"], evidence={})
        quantities: list[Quantity] = []
        bad_quantities: list[Quantity] = []
        entities: list[str] = []
        bad_entities: list[str] = []
        context = source_context(item)
        for bullet in bullets:  # per bullet, so nothing is joined across bullet boundaries
            found, bad = quantity_check(bullet, context)
            quantities += found
            bad_quantities += bad
            ents, bad_ents = entity_check(bullet, context)
            entities += ents
            bad_entities += bad_ents
        values = {
            "facts_number_unsupported_rate": len(bad_quantities) / len(quantities) if quantities else 0.0,
            "facts_entity_unsupported_rate": len(bad_entities) / len(entities) if entities else 0.0,
            "facts_numbers": float(len(quantities)),
            "facts_entities": float(len(entities)),
        }
        flags = []
        if bad_quantities:
            flags.append("unsupported_number")
        if bad_entities:
            flags.append("unsupported_entity")
        evidence = {
            "unsupported_numbers": unique(q.surface for q in bad_quantities),
            "unsupported_entities": unique(bad_entities),
        }
        return MetricResult(values=values, flags=flags, evidence=evidence)


def _build(options: Any) -> FactsScorer | None:
    return FactsScorer() if options.enabled else None


METRIC = register(
    Metric(
        name="facts",
        description="deterministic check: numbers and named entities of the digest that its source lacks",
        needs_reference=False,
        order=40,
        version=METRIC_VERSION,
        build=_build,
        columns=(
            Column(
                "facts_number_unsupported_rate",
                "unsupported numbers ↓",
                higher_is_better=False,
                headline=True,
            ),
            Column(
                "facts_entity_unsupported_rate",
                "unsupported entities ↓",
                higher_is_better=False,
                headline=True,
            ),
            Column("facts_numbers", "numbers checked"),
            Column("facts_entities", "entities checked"),
        ),
    )
)
