"""Frames as records: the plain rows (column name -> value) that travel from the workers to panels.

Below the widgets, so `dashboard.ui.data` (the UI's doorway to the core) hands panels their rows
without importing any widget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

Record = Mapping[str, Any]


def records(frame: pd.DataFrame | None) -> list[dict[str, Any]]:
    """A frame's rows as dicts (column name -> value); an absent frame has none.

    Missing values (NaN, NaT, NA) become None: NaN is not equal to itself, so a record holding one
    never equalled its unchanged self, and panels re-rendered every such row on every refresh."""
    if frame is None or frame.empty:
        return []
    plain = frame.astype(object).where(frame.notna(), None)
    return [{str(key): value for key, value in row.items()} for row in plain.to_dict("records")]
