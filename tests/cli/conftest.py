"""CLI fixtures: a fresh data dir per test, and one seeded with ``recordkit init``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import Api, Seeded, invoke_json


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def seeded(data_dir: Path) -> Seeded:
    made = invoke_json("init", "--data-dir", str(data_dir))
    api = Api(data_dir, made["account_id"], made["token"])
    return Seeded(data_dir, made["account_id"], made["app_id"], made["token"], api)
