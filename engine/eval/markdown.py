"""The report's Markdown pieces: table cells, and the sections that systems other than the tables add."""

from __future__ import annotations

import math
from dataclasses import dataclass


def cell(value: float | None, fmt: str, missing: str = "—") -> str:
    """`value` formatted with `fmt`; `missing` where there is no number (None, NaN or infinite)."""
    return missing if value is None or not math.isfinite(value) else fmt.format(value)


@dataclass(frozen=True)
class ReportSection:
    """A section of report.md (Markdown ending in a blank line) and its numbers for results.json[key]."""

    key: str
    markdown: str
    results: dict
