"""The installed levinsearch version (`levinsearch.__version__`, and every record's
provenance). Imports nothing of the package, so that `import levinsearch` stays light."""
from __future__ import annotations

from functools import cache

#: The version when the package's metadata cannot be read (run from a source tree that
#: was never installed); PEP 440 valid, so that tools comparing versions accept it.
UNKNOWN = "0+unknown"


@cache  # the installed version cannot change while the process runs
def version() -> str:
    from importlib import metadata
    try:
        return metadata.version("levinsearch")
    except metadata.PackageNotFoundError:
        return UNKNOWN
