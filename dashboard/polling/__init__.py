"""The poll loop: the one place that ties config, sources, the fetcher and the store together."""
