"""`alerts list` (what fired and whether it reached its channels) and `alerts test CHANNEL`."""

from __future__ import annotations

import argparse
import sys

from dashboard.cli.common import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, database_path, load
from dashboard.clock import utc_now
from dashboard.text import display_safe, shorten


def add_alert_commands(
    commands: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    alerts = commands.add_parser(
        "alerts",
        help="list recent alerts and their delivery, or send a test message to a channel",
        description="Alerts are declared as [[alerts]] rules and [notify.NAME] channels in feeds.toml "
        "(see the README); `poll` and the dashboard raise and deliver them.",
    )
    actions = alerts.add_subparsers(title="actions", metavar="ACTION", required=True)
    listing = actions.add_parser("list", parents=[common], help="the recent alerts, newest first")
    listing.add_argument("--limit", type=int, default=30, metavar="N", help="how many (default: 30)")
    listing.set_defaults(handler=run_alerts_list)
    testing = actions.add_parser("test", parents=[common], help="send a test message to CHANNEL now")
    testing.add_argument("channel", metavar="CHANNEL", help="a channel name from [notify] in feeds.toml")
    testing.set_defaults(handler=run_alerts_test)


def run_alerts_list(args: argparse.Namespace) -> int:
    from dashboard.store.alerts import AlertLog
    from dashboard.store.db import connect

    config = load(args)
    connection = connect(database_path(args, config), readonly=True)
    try:
        log = AlertLog(connection)
        recent = log.recent(limit=max(args.limit, 1))
        if recent.empty:
            print("No alert has been raised yet.")
        for alert in recent.to_dict("records"):
            when = f"{alert['raised_at']:%Y-%m-%d %H:%M} UTC"
            state = alert["suppressed"] or alert["delivery"] or "not sent (no channel)"
            print(f"{when}  {alert['rule']:<16}  {_safe(alert['title'], 90)}")
            print(f"{'':<22}{_safe(state, 110)}")
        for name, error in log.failing_channels(config.alerts.channels).items():
            print(f"Channel {name} is failing: {_safe(error, 100)}", file=sys.stderr)
    finally:
        connection.close()
    return EXIT_OK


def run_alerts_test(args: argparse.Namespace) -> int:
    from dashboard.alerts.deliver import send_test_message

    config = load(args)
    channels = config.alerts.channels
    if args.channel not in channels:
        known = ", ".join(sorted(channels)) or "none: add a [notify.NAME] table to feeds.toml"
        print(f"community-dashboard: no channel {args.channel!r} (channels: {known})", file=sys.stderr)
        return EXIT_USAGE
    error = send_test_message(channels[args.channel], utc_now())
    if error:
        print(f"community-dashboard: the test message did not reach {args.channel}: {error}", file=sys.stderr)
        return EXIT_FAILURE
    print(f"Sent a test message to {args.channel} ({channels[args.channel].where}).")
    return EXIT_OK


def _safe(text: object, width: int) -> str:
    return shorten(display_safe(text, one_line=True), width)
