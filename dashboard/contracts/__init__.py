"""The contracts every layer shares: requests and responses, the fetch error tree, the `Source` interface.

This package is the bottom of the import graph: it imports nothing of the project but `models`, so a
source never needs the fetcher, the fetcher never needs a source, and config can check source keys
against whatever registry it is handed.
"""
