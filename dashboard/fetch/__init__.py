"""Getting bytes from the network politely, and deciding when to ask again."""
