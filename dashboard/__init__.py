"""community-dashboard: watch the health of a community from a terminal."""

import logging

__version__ = "0.1.0"

# A library stays quiet until the program that uses it sets logging up (the CLI does: cli/logs.py).
logging.getLogger(__name__).addHandler(logging.NullHandler())
