"""Where the destinations' vendor APIs are: plain data that settings builds and the delivery jobs
read (kept in the domain so that settings need not import the destinations' adapters)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Endpoints:
    """Where each vendor's API is (None: the vendor's own), and the SFTP host policy.

    ``sftp_allow_private`` is checked when a connection is made (the start of a recording checked
    the host already, but DNS may have changed since). The server sets it from the one switch,
    ``Settings.allow_private_network``; True here is only the default of this building block."""

    aws: str | None = None
    digitalocean: str | None = None
    azure: str | None = None
    gcs: str | None = None
    sftp_known_hosts: str | None = None
    sftp_allow_private: bool = True

    def __post_init__(self) -> None:
        for name in ("aws", "digitalocean", "azure", "gcs"):
            url = getattr(self, name)
            if url is not None:
                parts = urlsplit(url.replace("{region}", "r").replace("{account}", "a"))
                if parts.scheme not in ("http", "https") or not parts.netloc:
                    raise ValueError(f"the {name} endpoint: must be an http(s) URL")
