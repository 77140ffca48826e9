"""community-dashboard: watch the health of a community from a terminal."""

__version__ = "0.1.0"
