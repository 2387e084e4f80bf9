"""pyproject.toml uses no metadata form that setuptools warns about (pip install stays quiet)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def test_license_is_an_spdx_string_and_setuptools_is_new_enough_for_it() -> None:
    data = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    # A table ({ text = ... }) is deprecated since setuptools 77, which reads SPDX strings.
    assert data["project"]["license"] == "Apache-2.0"
    wanted = [r for r in data["build-system"]["requires"] if re.match(r"setuptools\b", r)]
    assert len(wanted) == 1
    floor = re.fullmatch(r"setuptools\s*>=\s*(\d+)(?:\.\d+)*", wanted[0])
    assert floor is not None and int(floor.group(1)) >= 77, wanted[0]
