-- Recordings RecordKit makes itself: which process runs each one (a lease), and their files.
ALTER TABLE recordings ADD COLUMN owner TEXT;
ALTER TABLE recordings ADD COLUMN lease_ms INTEGER;
ALTER TABLE recordings ADD COLUMN purged_ms INTEGER;

-- Work to do: recordings that are not in a final state, and stored files past their expiry.
CREATE INDEX recordings_unfinished ON recordings(status, lease_ms)
    WHERE status IN ('INVOKED', 'RECORDING', 'PAUSED', 'UPLOADING');
CREATE INDEX recordings_to_purge ON recordings(expiry_ms) WHERE expiry_ms IS NOT NULL AND purged_ms IS NULL;
