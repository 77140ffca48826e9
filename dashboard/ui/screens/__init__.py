"""The dashboard's screens: the main grid, a mention's detail, a source's error, help."""
