"""Where the store lives: a SQLite file (the embedded default) or a PostgreSQL URL (a team's store).

Low in the layers so that config, the CLI and the store agree on one spelling: a string starting with
`postgresql://` (or `postgres://`) is PostgreSQL, anything else a file path. The password never
belongs in feeds.toml: libpq reads it from $PGPASSWORD or ~/.pgpass.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

Database = Path | str
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# Chooses the store when neither --db is given: above feeds.toml's [settings] database.
ENVIRONMENT_VARIABLE = "COMMUNITY_DASHBOARD_DATABASE"


def is_postgres(database: Database) -> bool:
    return isinstance(database, str) and database.startswith(POSTGRES_SCHEMES)


def as_database(text: str, folder: Path | None = None) -> Database:
    """A URL stays a URL; a path is expanded (~) and taken relative to `folder` when given."""
    if text.startswith(POSTGRES_SCHEMES):
        return text
    path = Path(text).expanduser()
    return folder / path if folder is not None else path


def url_problem(url: str) -> str | None:
    """What is wrong with a PostgreSQL URL written in a config file, or None."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError as error:
        return f"not a valid PostgreSQL URL ({error})"
    if parts.password is not None:
        return (
            "the password does not belong in feeds.toml: remove it from the URL and give it to "
            "PostgreSQL through $PGPASSWORD or ~/.pgpass"
        )
    if not parts.path.strip("/") and "dbname=" not in parts.query:
        return "a PostgreSQL URL names its database: postgresql://user@host/dbname"
    return None


def absolute(database: Database) -> Database:
    """A path made absolute (a manifest names the file wherever it is read); a URL as it is."""
    return database if is_postgres(database) else Path(database).absolute()


def display_name(database: Database) -> str:
    """The store as messages name it: a URL without its password."""
    if not is_postgres(database):
        return str(database)
    parts = urlsplit(str(database))
    if parts.password is None:
        return str(database)
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")))


def choose(flag: str | Path | None, configured: Database) -> Database:
    """--db, else $COMMUNITY_DASHBOARD_DATABASE, else the configured (or default) store."""
    if flag is not None and str(flag):
        return as_database(str(flag))
    from_environment = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if from_environment:
        return as_database(from_environment)
    return configured
