"""What every command shares: the exit statuses, loading the chosen config, the database path."""

from __future__ import annotations

import argparse
from pathlib import Path

from dashboard.config import Config, load_chosen_config

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


def load(args: argparse.Namespace) -> Config:
    from dashboard.sources import source_types

    return load_chosen_config(args.config, registry=source_types())


def database_path(args: argparse.Namespace, config: Config) -> Path:
    return Path(args.db) if args.db else config.settings.database_path
