"""Source types, one module each. Importing this package registers every module in it."""

import importlib
import pkgutil
from collections.abc import Mapping

from dashboard.contracts.source import Source, registered_types
from dashboard.models import SourceConfig

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")


def source_types() -> Mapping[str, type[Source]]:
    """Every source type, by the name feeds.toml gives it (`source = "reddit"`)."""
    return registered_types()


def make_source(config: SourceConfig) -> Source:
    return source_types()[config.type](config)
