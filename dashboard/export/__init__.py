"""Exports: CSV tables and snapshot folders for spreadsheets and scripts, scheduled snapshots, OPML.

Modules: csvfile (safe, atomic, streaming CSV), tables (the documented columns), streaming (the
mentions table on two cores), snapshot (the `all` folder and its manifest), schedule (snapshots every
`[export] every`, rotation), opml (feeds in and out), cli (the `export` and `feeds` commands).
"""
