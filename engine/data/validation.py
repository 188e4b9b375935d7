"""Which checks every loaded price series gets (gaps, jumps, stale prices) and their limits."""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field

from engine.io.yaml_models import Frozen

ABSURD_JUMP = math.log(100)  # a price 100x (or 1/100) the bar before: never a real move


class ValidationConfig(Frozen):
    """Checks of every loaded price series (engine.data.panel): gaps, jumps, stale prices."""

    on_issue: Literal["warn", "error"] = Field(
        "warn", description="warn: record each issue as a run note; error: stop the run"
    )
    max_gap_bars: int = Field(
        5,
        ge=1,
        le=10_000,
        description="most consecutive expected bars (weekdays; every day for a 7-day asset) "
        "a traded asset may miss",
    )
    max_jump: float = Field(
        0.5, gt=0, le=100, description="largest |daily log return| of an asset trading weekdays"
    )
    max_jump_crypto: float = Field(
        0.8,
        gt=0,
        le=100,
        description="largest |daily log return| of an asset trading 7 days a week (crypto)",
    )
    jump_overrides: dict[str, Annotated[float, Field(gt=0, le=100)]] = Field(
        default_factory=dict, description="per-symbol |log return| limits, e.g. {^VIX: 1.0}"
    )
    max_jump_absurd: float = Field(
        ABSURD_JUMP,
        gt=0,
        le=100,
        description="|daily log return| beyond which a price series is refused, whatever "
        "on_issue says (default log(100): a 100x move is a bad print or wrong units)",
    )
    max_stale_bars: int = Field(
        10,
        ge=1,
        le=100_000,
        description="most consecutive traded bars an asset's price may stay unchanged",
    )

    def jump_limit(self, symbol: str, seven_day: bool) -> float:
        if symbol in self.jump_overrides:
            return self.jump_overrides[symbol]
        return self.max_jump_crypto if seven_day else self.max_jump
