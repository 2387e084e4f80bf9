"""The server's distribution: ``recordkit-server`` on PyPI (the import package stays ``recordkit``).

PyPI folds the name "recordkit" onto an existing project's, so RecordKit ships as two
distributions, ``recordkit-server`` (this code and the ``recordkit`` command) and
``recordkit-client`` (``recordkit.client``); docs/decisions.md, "Two distributions".
"""

from __future__ import annotations

DISTRIBUTION = "recordkit-server"


def version() -> str:
    """The installed recordkit-server's version (``0+unknown`` when run from a tree never installed)."""
    from importlib import metadata  # here: importing it costs ~20 ms that `recordkit --help` need not pay

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"
