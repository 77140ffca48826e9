"""No command: open the dashboard on feeds.toml, or on the built-in demo."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from dashboard.cli.common import EXIT_OK, EXIT_USAGE, database_path, load
from dashboard.config import Config, load_config
from dashboard.database import Database, as_database, is_postgres

if TYPE_CHECKING:
    from dashboard.demo.server import DemoServer


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
        database = as_database(args.db) if args.db else Path(tmp) / "demo.db"
        config_path = Path(tmp) / "feeds.toml"
        # The demo's snapshots (`e`) go beside its database, never among the user's real exports.
        beside = Path(tmp) if is_postgres(database) else Path(database).parent
        exports = f"\n[export]\ndir = {json.dumps(str(beside / 'exports'))}\n"
        config_path.write_text(
            demo.feeds_toml(database, chat_url_file=_demo_chat_file(demo, Path(tmp))) + exports,
            encoding="utf-8",
        )
        from dashboard.sources import source_types

        return _run_app(load_config(config_path, registry=source_types()), database, readonly=False)


def _demo_chat_file(demo: DemoServer, folder: Path) -> Path | None:
    """The demo's chat URL in a file only the user can read, as a real channel's would be; None
    without the optional Apprise (the demo's alerts are then shown, not sent)."""
    if importlib.util.find_spec("apprise") is None:
        return None
    path = folder / "demo-chat.url"
    path.touch(mode=0o600)
    path.write_text(demo.chat_url + "\n", encoding="utf-8")
    return path


def _run_app(config: Config, database: Database, *, readonly: bool) -> int:
    from dashboard.store.db import connect
    from dashboard.ui.app import make_app

    # Open the store once before the screen takes over: a path that is a folder, a database of
    # another program or none at all (read-only) is one clear line and exit 1 (StoreError, in
    # main), never a traceback or a dashboard "loading…" forever.
    connect(database, readonly=readonly).close()
    make_app(config, database=database, readonly=readonly).run()
    return EXIT_OK
