"""What every command shares: the exit statuses, loading the chosen config, the database path.

Nothing heavy is imported at module level: the parser imports this module, and `--version` or
`--help` must not pay for the config reader (let alone the sources) they never use.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dashboard.config import Config
    from dashboard.database import Database

# The documented exit statuses (`community-dashboard --help` lists them).
EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
EXIT_ALL_FAILED = 3  # poll --once / check --fetch: sources were polled and every one failed
EXIT_INTERRUPTED = 130  # Ctrl-C, as a shell reports 128 + SIGINT


def load(args: argparse.Namespace) -> Config:
    from dashboard.config import load_chosen_config
    from dashboard.sources import source_types

    return load_chosen_config(args.config, registry=source_types())


def database_path(args: argparse.Namespace, config: Config) -> Database:
    """--db, else $COMMUNITY_DASHBOARD_DATABASE, else [settings] database, else the user data folder."""
    from dashboard.database import choose

    return choose(args.db, config.settings.database_path)
