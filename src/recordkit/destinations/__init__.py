"""Delivery of recording files to a user's own storage: a recording's ``storage_config``.

    validate_storage_config(cfg)            InvalidRequest naming the field (``config``)
    open_destination(cfg, endpoints, ...)   a ``Destination`` for the configured type (``factory``)
    Destination.put / delete / probe         DestinationError(transient=...) when the far side fails

The backends (``s3``, ``azure``, ``gcs``, ``sftp``) import their client library only when used: each
comes with the default install (boto3, azure-storage-blob, google-cloud-storage, paramiko).
"""

from recordkit.destinations.base import Destination, DestinationError
from recordkit.destinations.factory import open_destination
from recordkit.domain.endpoints import Endpoints
from recordkit.domain.storage_config import validate_storage_config

__all__ = ["Destination", "DestinationError", "Endpoints", "open_destination", "validate_storage_config"]
