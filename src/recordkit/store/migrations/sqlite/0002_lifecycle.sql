-- Recordings that RecordKit makes: their configuration, pause accounting, files and leases.
ALTER TABLE recordings ADD COLUMN kind TEXT NOT NULL DEFAULT 'composite';
ALTER TABLE recordings ADD COLUMN config TEXT;
ALTER TABLE recordings ADD COLUMN paused_since_ms INTEGER;
ALTER TABLE recordings ADD COLUMN paused_total_ms INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recordings ADD COLUMN error TEXT;
ALTER TABLE recordings ADD COLUMN files TEXT;
ALTER TABLE recordings ADD COLUMN owner TEXT;
ALTER TABLE recordings ADD COLUMN lease_ms INTEGER;
ALTER TABLE recordings ADD COLUMN stored_ms INTEGER;
ALTER TABLE recordings ADD COLUMN purged_ms INTEGER;

-- Work to do: recordings not yet in a final state, and stored files awaiting the retention sweep.
CREATE INDEX recordings_live ON recordings(status) WHERE status IN ('INVOKED', 'RECORDING', 'PAUSED', 'UPLOADING');
CREATE INDEX recordings_to_purge ON recordings(expiry_ms) WHERE files IS NOT NULL AND purged_ms IS NULL;
CREATE INDEX meetings_by_app_status ON meetings(app_id, status, created_ms, id);

