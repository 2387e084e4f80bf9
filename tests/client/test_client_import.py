"""The client works from a light install: importing it loads nothing of the server."""

from __future__ import annotations

import json
import subprocess
import sys

SERVER_MODULES = ("starlette", "granian", "recordkit.store", "recordkit.api", "recordkit.domain", "recordkit.jobs")


def test_importing_the_client_loads_no_server_module() -> None:
    code = (
        "import json, sys\n"
        "import recordkit.client\n"
        "from recordkit.client import Client, AsyncClient\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    loaded = json.loads(done.stdout)
    leaked = [m for m in loaded if any(m == s or m.startswith(s + ".") for s in SERVER_MODULES)]
    assert leaked == [], f"the client imported server modules: {leaked}"
    assert "httpx" in loaded and "msgspec" in loaded
    assert not [m for m in loaded if m.startswith("recordkit.") and not m.startswith("recordkit.client")]
