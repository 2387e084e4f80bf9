"""``open_destination``: a checked storage_config (with its secrets) to a ``Destination``.

Endpoints are the operator's, never the user's: the server's ``Settings`` reads them (one
declaration each in ``recordkit.settings``)

    RECORDKIT_AWS_ENDPOINT_URL           default: AWS itself
    RECORDKIT_DIGITALOCEAN_ENDPOINT_URL  default: https://{region}.digitaloceanspaces.com
    RECORDKIT_AZURE_ENDPOINT_URL         default: https://{account}.blob.core.windows.net
    RECORDKIT_GCS_ENDPOINT_URL           default: https://storage.googleapis.com
    RECORDKIT_SFTP_KNOWN_HOSTS           a known_hosts file; unset: any host key is accepted
    RECORDKIT_ALLOW_PRIVATE_NETWORK      "true": allow SFTP hosts on private/loopback addresses
                                         (the address policy, recordkit.security.netpolicy; default off)

and ``Settings.endpoints()`` makes them an ``Endpoints``.

``{region}`` and ``{account}`` in an endpoint URL are replaced by the storage_config's region and
Azure account name. An overridden S3 endpoint is addressed path-style (``{endpoint}/{bucket}/key``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from recordkit.destinations.base import Destination, DestinationError
from recordkit.domain.endpoints import Endpoints
from recordkit.domain.storage_config import parse_storage_config

# The package each type's client comes from (all in the default install; see docs/decisions.md).
PACKAGES = {
    "aws": "boto3",
    "digitalocean": "boto3",
    "azure": "azure-storage-blob",
    "gcs": "google-cloud-storage",
    "sftp": "paramiko",
}


def open_destination(
    cfg: Mapping[str, Any], endpoints: Endpoints | None = None, *, file_name_prefix: str | None = None
) -> Destination:
    """Check ``cfg`` (InvalidRequest naming the field) and build its destination; no network yet.

    ``file_name_prefix`` is put before every file name (``naming``); leave it None when the names
    given to ``put`` already carry it, as ``Recording.output_file_name`` does."""
    spec = parse_storage_config(cfg)
    endpoints = endpoints or Endpoints()
    if file_name_prefix is not None:
        from recordkit.domain.ids import check_prefix

        check_prefix(file_name_prefix)
    try:
        if spec.type in ("aws", "digitalocean"):
            from recordkit.destinations.s3 import open_s3

            url = endpoints.aws if spec.type == "aws" else endpoints.digitalocean
            return open_s3(spec, url, file_name_prefix=file_name_prefix)
        if spec.type == "azure":
            from recordkit.destinations.azure import AzureDestination

            return AzureDestination(spec, endpoint_url=endpoints.azure, file_name_prefix=file_name_prefix)
        if spec.type == "gcs":
            from recordkit.destinations.gcs import GcsDestination

            return GcsDestination(spec, endpoint_url=endpoints.gcs, file_name_prefix=file_name_prefix)
        from recordkit.destinations.sftp import SftpDestination

        return SftpDestination(
            spec,
            known_hosts=endpoints.sftp_known_hosts,
            allow_private=endpoints.sftp_allow_private,
            file_name_prefix=file_name_prefix,
        )
    except ImportError:
        # Permanent: no retry installs a package. (The default install has them all; this is an
        # install that left one out.)
        package = PACKAGES[spec.type]
        raise DestinationError(
            f"storage_config.type {spec.type} needs the {package} package, which is not installed "
            f"(pip install {package})",
            transient=False,
        ) from None
