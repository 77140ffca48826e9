"""Loading a widget's own .tcss file as its DEFAULT_CSS, so each panel carries its styles."""

from __future__ import annotations

from pathlib import Path


def widget_css(module_file: str) -> str:
    """The .tcss file next to `module_file` (same stem), read once at import."""
    return Path(module_file).with_suffix(".tcss").read_text(encoding="utf-8")
