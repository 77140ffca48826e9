"""One widget per panel, each with its own .tcss beside it."""
