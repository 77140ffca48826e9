"""The one error of this package: an optional dependency is missing, with the command that installs it."""

from __future__ import annotations

INSTALL_HINT = "pip install 'community-dashboard[opinion]'"


class OpinionUnavailable(ImportError):
    """Language detection or sentiment needs the `opinion` extra, which is not installed."""

    def __init__(self, what: str) -> None:
        super().__init__(f"{what}, which is not installed: {INSTALL_HINT}")
        self.what = what
