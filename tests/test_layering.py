"""The core is Textual-free: headless commands and the core's tests never load the UI."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "dashboard.cli",
    "dashboard.config",
    "dashboard.models",
    "dashboard.sources",
    "dashboard.polling.poller",
    "dashboard.polling.service",
    "dashboard.store.writer",
    "dashboard.store.reader",
    "dashboard.analytics.dashboard",
    "dashboard.export.cli",
    "dashboard.export.snapshot",
]


def test_core_imports_no_textual() -> None:
    # (httpx itself imports rich for its own command line, so only textual and our UI are checked.)
    script = (
        "import importlib, sys\n"
        f"for name in {CORE!r}: importlib.import_module(name)\n"
        "from dashboard.cli import build_parser; build_parser()\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'textual' or m.startswith('dashboard.ui'))\n"
        "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
