"""No command: open the dashboard on feeds.toml, or on the built-in demo."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from dashboard.cli.common import EXIT_OK, EXIT_USAGE, database_path, load
from dashboard.config import Config, load_config


def run_dashboard(args: argparse.Namespace) -> int:
    if args.demo:
        return _run_demo(args)
    config = load(args)
    return _run_app(config, database_path(args, config), readonly=args.readonly)


def _run_demo(args: argparse.Namespace) -> int:
    from dashboard.demo.server import DemoServer

    if args.readonly:
        print(
            "community-dashboard: --demo and --readonly cannot go together: the demo is a world this"
            " instance polls. To watch a database another instance writes, use --readonly --db PATH.",
            file=sys.stderr,
        )
        return EXIT_USAGE

    with (
        DemoServer(seed=args.seed) as demo,
        tempfile.TemporaryDirectory(prefix="community-dashboard-demo-") as tmp,
    ):
        database = args.db or Path(tmp) / "demo.db"
        config_path = Path(tmp) / "feeds.toml"
        # The demo's snapshots (`e`) go beside its database, never among the user's real exports.
        exports = f"\n[export]\ndir = {json.dumps(str(database.parent / 'exports'))}\n"
        config_path.write_text(demo.feeds_toml(database) + exports, encoding="utf-8")
        from dashboard.sources import source_types

        return _run_app(load_config(config_path, registry=source_types()), database, readonly=False)


def _run_app(config: Config, database: Path, *, readonly: bool) -> int:
    from dashboard.store.db import connect
    from dashboard.ui.app import make_app

    # Open the store once before the screen takes over: a path that is a folder, a database of
    # another program or none at all (read-only) is one clear line and exit 1 (StoreError, in
    # main), never a traceback or a dashboard "loading…" forever.
    connect(database, readonly=readonly).close()
    make_app(config, database=database, readonly=readonly).run()
    return EXIT_OK
