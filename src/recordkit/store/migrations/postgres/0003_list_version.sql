-- A version per app that changes with anything its recording list shows, in the same transaction
-- as the change: cached list pages are checked against it (recordkit.domain.listcache).
-- Statement-level triggers (transition tables): one bump per statement and app, and an update
-- bumps only the apps whose rows changed in a column the list shows (SQLite bumps per row on any
-- update of those columns). Imports insert unmanaged rows and bump once per batch themselves.
ALTER TABLE apps ADD COLUMN version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION recordkit_bump_recordings_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE apps SET version = version + 1
        WHERE seq IN (SELECT DISTINCT app FROM new_rows WHERE managed);
    RETURN NULL;
END $$;

CREATE FUNCTION recordkit_bump_recordings_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE apps SET version = version + 1 WHERE seq IN (
        SELECT o.app FROM old_rows o JOIN new_rows n ON n.seq = o.seq
            WHERE (o.app, o.meeting_id, o.status, o.invoked_ms, o.expiry_ms, o.wire)
                IS DISTINCT FROM (n.app, n.meeting_id, n.status, n.invoked_ms, n.expiry_ms, n.wire)
        UNION
        SELECT n.app FROM old_rows o JOIN new_rows n ON n.seq = o.seq
            WHERE (o.app, o.meeting_id, o.status, o.invoked_ms, o.expiry_ms, o.wire)
                IS DISTINCT FROM (n.app, n.meeting_id, n.status, n.invoked_ms, n.expiry_ms, n.wire)
    );
    RETURN NULL;
END $$;

CREATE FUNCTION recordkit_bump_recordings_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE apps SET version = version + 1 WHERE seq IN (SELECT DISTINCT app FROM old_rows);
    RETURN NULL;
END $$;

CREATE FUNCTION recordkit_bump_meetings_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE apps SET version = version + 1 WHERE id IN (SELECT DISTINCT app_id FROM new_rows);
    RETURN NULL;
END $$;

CREATE FUNCTION recordkit_bump_meetings_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE apps SET version = version + 1
        WHERE id IN (SELECT app_id FROM old_rows UNION SELECT app_id FROM new_rows);
    RETURN NULL;
END $$;

CREATE FUNCTION recordkit_bump_meetings_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE apps SET version = version + 1 WHERE id IN (SELECT DISTINCT app_id FROM old_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER recordings_version_insert AFTER INSERT ON recordings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION recordkit_bump_recordings_insert();
CREATE TRIGGER recordings_version_update AFTER UPDATE ON recordings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION recordkit_bump_recordings_update();
CREATE TRIGGER recordings_version_delete AFTER DELETE ON recordings
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION recordkit_bump_recordings_delete();
CREATE TRIGGER meetings_version_insert AFTER INSERT ON meetings
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION recordkit_bump_meetings_insert();
CREATE TRIGGER meetings_version_update AFTER UPDATE ON meetings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION recordkit_bump_meetings_update();
CREATE TRIGGER meetings_version_delete AFTER DELETE ON meetings
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION recordkit_bump_meetings_delete();
