"""File storage behind the ``BlobStore`` port: the RecordKit bucket (local folder by default)."""
