"""Helpers importable whatever pytest's import mode: tests/client's and tests/e2e's (live servers)."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
for folder in (TESTS / "client", TESTS / "e2e"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
