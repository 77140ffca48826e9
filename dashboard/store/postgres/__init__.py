"""The PostgreSQL backend of the store (team mode): a team's shared database.

- connection.py: a psycopg 3 connection that answers `dashboard.store.db.Connection`, so the writer,
  reader, alert log and background passes run on PostgreSQL unchanged (the few dialect differences
  are translated there), plus LISTEN/NOTIFY for the dashboards;
- schema.py: the twin of every SQLite migration, versioned and migrated under a lock;
- copy.py / to_sqlite.py: `store copy`, SQLite -> PostgreSQL and back.

psycopg 3 is an optional extra (`pip install 'community-dashboard[postgres]'`): only the store imports it,
always lazily (store.db, store.writer and this package), so the SQLite install never needs it.
"""
