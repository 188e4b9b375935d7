"""hayes-pivot's rules quote seed 001 word for word (the article is the spec; a paraphrase
that drops words is not a quote)."""

from __future__ import annotations

from pathlib import Path

import pytest

from strategies.hayes_pivot import RULES, SEED

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"


def quoted_parts(rule: str) -> list[str]:
    """The Chinese sentences of a rule (before its English gloss, split at the elisions)."""
    return [part for part in rule.split(" (")[0].split("……") if part]


def test_hayes_rules_quote_seed_001_verbatim():
    seed = SEEDS / SEED
    if not seed.is_file():
        pytest.skip(f"seed articles not found at {SEEDS}")
    text = seed.read_text(encoding="utf-8")
    for key, rule in RULES.items():
        if rule.startswith("variant, not in the article"):
            continue
        for part in quoted_parts(rule):
            assert part in text, (key, part)
