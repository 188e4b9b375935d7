"""hayes-pivot's rules quote seed 001 word for word (the article is the spec; a paraphrase
that drops words is not a quote)."""

from __future__ import annotations

from strategies.hayes_pivot import RULES, SEED
from tests.seeds import assert_rules_quote_seed


def test_hayes_rules_quote_seed_001_verbatim():
    assert_rules_quote_seed(RULES, SEED)
