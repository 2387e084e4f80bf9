"""The destination tests: their servers are the session fixtures of tests/conftest.py
(``s3_server``, ``azurite_server``, ``gcs_server``, ``sftp_server``); this folder adds dest_support."""

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds dest_support.py: importable whatever the import mode.
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
