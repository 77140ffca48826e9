"""The offline demo: a local HTTP server that plays every source type, with activity that evolves."""
