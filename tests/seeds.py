"""The source articles (../shared/seeds) as the spec of a playbook's rules: a rule quotes its
seed word for word, in Chinese before its English gloss, elisions marked with "……"."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pytest

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
VARIANT = "variant, not in the article"  # a rule that says so quotes nothing


def seed_text(name: str) -> str:
    """The article `name` from ../shared/seeds; the test skips when the seeds are absent."""
    seed = SEEDS / name
    if not seed.is_file():
        pytest.skip(f"seed articles not found at {SEEDS}")
    return seed.read_text(encoding="utf-8")


def quoted_parts(rule: str) -> list[str]:
    """The Chinese sentences of a rule (before its English gloss, split at the elisions)."""
    return [part for part in rule.split(" (")[0].split("……") if part]


def assert_rules_quote_seed(rules: Mapping[str, str], seed: str) -> None:
    """Every rule but a declared variant quotes the article `seed` verbatim."""
    text = seed_text(seed)
    for key, rule in rules.items():
        if rule.startswith(VARIANT):
            continue
        for part in quoted_parts(rule):
            assert part in text, (key, part)
