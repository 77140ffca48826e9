"""The PostgreSQL backend of the store (team mode, issue 15): in progress.

What exists: the schema and its migrations (schema.py). Nothing here is wired to poll or the dashboard
yet; they use SQLite only. psycopg 3 is an optional extra (`pip install 'community-dashboard[postgres]'`):
only this package imports it.
"""
