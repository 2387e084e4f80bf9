-- A version per app that changes with anything its recording list shows, in the same transaction
-- as the change: cached list pages are checked against it (recordkit.domain.listcache).
-- Imports insert unmanaged rows and bump it once per batch themselves (no per-row trigger cost).
ALTER TABLE apps ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
CREATE TRIGGER recordings_version_insert AFTER INSERT ON recordings WHEN NEW.managed = 1 BEGIN
    UPDATE apps SET version = version + 1 WHERE seq = NEW.app;
END;
CREATE TRIGGER recordings_version_update AFTER UPDATE OF app, meeting_id, status, invoked_ms, expiry_ms, wire
    ON recordings BEGIN
    UPDATE apps SET version = version + 1 WHERE seq IN (OLD.app, NEW.app);
END;
CREATE TRIGGER recordings_version_delete AFTER DELETE ON recordings BEGIN
    UPDATE apps SET version = version + 1 WHERE seq = OLD.app;
END;
CREATE TRIGGER meetings_version_insert AFTER INSERT ON meetings BEGIN
    UPDATE apps SET version = version + 1 WHERE id = NEW.app_id;
END;
CREATE TRIGGER meetings_version_update AFTER UPDATE ON meetings BEGIN
    UPDATE apps SET version = version + 1 WHERE id IN (OLD.app_id, NEW.app_id);
END;
CREATE TRIGGER meetings_version_delete AFTER DELETE ON meetings BEGIN
    UPDATE apps SET version = version + 1 WHERE id = OLD.app_id;
END;
