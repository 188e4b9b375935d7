"""How commands print numbers and record the command line that made a folder."""

from __future__ import annotations

import sys
from typing import Any


def fmt(form: str, value: Any) -> str:
    """`value` in the format `form`, or "-" for a missing or NaN number."""
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return form.format(value)


def command_line(fallback: str) -> str:
    """The command as typed, written into the folder it made (fallback when argv is empty)."""
    return "playbook " + " ".join(sys.argv[1:]) if sys.argv else fallback
