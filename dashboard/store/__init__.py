"""The durable SQLite store: every mention, every poll, every source's state."""
