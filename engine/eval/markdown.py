"""Cells of the report's Markdown tables."""

from __future__ import annotations

import math


def cell(value: float | None, fmt: str, missing: str = "—") -> str:
    """`value` formatted with `fmt`; `missing` where there is no number (None, NaN or infinite)."""
    return missing if value is None or not math.isfinite(value) else fmt.format(value)
