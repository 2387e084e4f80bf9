-- Webhooks (issue 5): registrations, and an outbox that triggers fill in the same transaction as
-- every status change of a recording RecordKit makes (managed = 1; imported rows never emit). So
-- no writer (API, supervisor, CLI, any process) changes a status without its event being queued.
-- The dispatcher (recordkit.jobs.webhooks) sends the deliveries; it never writes events.
CREATE TABLE webhooks (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    app         INTEGER NOT NULL,
    name        TEXT NOT NULL,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_ms  INTEGER NOT NULL,
    updated_ms  INTEGER NOT NULL
);
CREATE INDEX webhooks_by_app ON webhooks(app, created_ms, id);

-- One row per event: the recording's list item (without its meeting) and the meeting's rendering
-- as they were at the change. seq only grows (AUTOINCREMENT: never reused after a prune).
CREATE TABLE webhook_events (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    app         INTEGER NOT NULL,
    event       TEXT NOT NULL,
    subject     TEXT NOT NULL,
    meeting_id  TEXT,
    status      TEXT,
    wire        BLOB NOT NULL,
    meeting     BLOB,
    created_ms  INTEGER NOT NULL
);

-- One row per (event, webhook subscribed to it when it happened). id is the rtk-uuid header, the
-- same on every attempt. status: pending, delivered, failed (a 4xx), dead (attempts used up),
-- cancelled (its webhook was deleted). owner / lease_ms: the process sending it right now.
CREATE TABLE webhook_deliveries (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    webhook       TEXT NOT NULL,
    event         INTEGER NOT NULL,
    subject       TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'pending',
    attempts      INTEGER NOT NULL DEFAULT 0,
    next_ms       INTEGER NOT NULL,
    owner         TEXT,
    lease_ms      INTEGER,
    last_code     INTEGER,
    last_error    TEXT,
    created_ms    INTEGER NOT NULL,
    updated_ms    INTEGER NOT NULL,
    delivered_ms  INTEGER
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_ms, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_chain ON webhook_deliveries(webhook, subject, seq) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook, seq);
CREATE INDEX webhook_deliveries_by_event ON webhook_deliveries(event);

-- recording.statusUpdate: on insert (INVOKED) and on every change of status. Nothing is written
-- for an app without an enabled webhook subscribed to the event. The delivery id is a random
-- UUID v4; the time is epoch milliseconds.
CREATE TRIGGER recordings_webhook_insert AFTER INSERT ON recordings
WHEN NEW.managed = 1 AND EXISTS (
    SELECT 1 FROM webhooks
    WHERE app = NEW.app AND enabled = 1 AND instr(events, '"recording.statusUpdate"') > 0
)
BEGIN
    INSERT INTO webhook_events (app, event, subject, meeting_id, status, wire, meeting, created_ms)
    VALUES (
        NEW.app, 'recording.statusUpdate', NEW.id, NEW.meeting_id, NEW.status, NEW.wire,
        (SELECT wire FROM meetings WHERE id = NEW.meeting_id),
        CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)
    );
    INSERT INTO webhook_deliveries (id, webhook, event, subject, status, next_ms, created_ms, updated_ms)
    SELECT
        lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
            || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1)
            || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
        w.id, (SELECT max(seq) FROM webhook_events), NEW.id, 'pending',
        CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER),
        CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER),
        CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)
    FROM webhooks w
    WHERE w.app = NEW.app AND w.enabled = 1 AND instr(w.events, '"recording.statusUpdate"') > 0
    ORDER BY w.seq;
END;

CREATE TRIGGER recordings_webhook_status AFTER UPDATE OF status ON recordings
WHEN NEW.managed = 1 AND NEW.status IS NOT OLD.status AND EXISTS (
    SELECT 1 FROM webhooks
    WHERE app = NEW.app AND enabled = 1 AND instr(events, '"recording.statusUpdate"') > 0
)
BEGIN
    INSERT INTO webhook_events (app, event, subject, meeting_id, status, wire, meeting, created_ms)
    VALUES (
        NEW.app, 'recording.statusUpdate', NEW.id, NEW.meeting_id, NEW.status, NEW.wire,
        (SELECT wire FROM meetings WHERE id = NEW.meeting_id),
        CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)
    );
    INSERT INTO webhook_deliveries (id, webhook, event, subject, status, next_ms, created_ms, updated_ms)
    SELECT
        lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4'
            || substr(lower(hex(randomblob(2))), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1)
            || substr(lower(hex(randomblob(2))), 2) || '-' || lower(hex(randomblob(6))),
        w.id, (SELECT max(seq) FROM webhook_events), NEW.id, 'pending',
        CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER),
        CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER),
        CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)
    FROM webhooks w
    WHERE w.app = NEW.app AND w.enabled = 1 AND instr(w.events, '"recording.statusUpdate"') > 0
    ORDER BY w.seq;
END;
