"""Deterministic fact checks of a claim against its source: numbers and named entities.

No model, no network: each check reports the claim's quantities and entities that the source does
not support, as written. Recall-oriented on changes (a changed value, unit, date, model version or
name), lenient on presentation (full-width digits, 7.5 亿 vs 750000000, 130 亿参数 vs 13B,
2 月 27 日 vs 2023-02-27, rounding). docs/facts.md describes the rules, figures and limitations.

Modules, one concern each:
    text          normalisation and character helpers
    wordlists     the word lists and tables in data/ (read once)
    numerals      Chinese numerals
    units         units, magnitudes, currencies
    dates         date forms and date support
    prescan       funding rounds and computing-scale classes, found before the scan
    quantities    extracting quantities (one scan over the text)
    quantity_support  whether a source supports a quantity
    lexicon       the lexicon of AI-industry names; jieba's dictionary
    titles        《titles》 and their support
    entities      extracting named entities
    entity_support    whether a source supports an entity
    binding       whether the source ties the summary's names to the same values and roles
    alignment     names read in their slot: the words around a summary's name against the source's
"""

from __future__ import annotations

from harness.score.factcheck.entities import extract_entities
from harness.score.factcheck.entity_support import unsupported_entities
from harness.score.factcheck.numerals import parse_chinese_number
from harness.score.factcheck.quantities import Quantity, extract_quantities
from harness.score.factcheck.quantity_support import unsupported_quantities

__all__ = [
    "Quantity",
    "check_claim",
    "extract_entities",
    "extract_quantities",
    "parse_chinese_number",
    "unsupported_entities",
    "unsupported_quantities",
]


def check_claim(claim: str, source: str) -> dict[str, list[str]]:
    """Unsupported quantities and entities of one claim: {"numbers": [...], "entities": [...]}."""
    return {"numbers": unsupported_quantities(claim, source), "entities": unsupported_entities(claim, source)}
