-- Accounts, apps, tokens, meetings, recordings, and the counters behind total_count.
CREATE TABLE accounts (
    id          TEXT PRIMARY KEY,
    created_ms  INTEGER NOT NULL
);

-- seq is the app's compact key inside the recordings tables (smaller, faster indexes).
CREATE TABLE apps (
    seq              INTEGER PRIMARY KEY,
    id               TEXT NOT NULL UNIQUE,
    account_id       TEXT NOT NULL REFERENCES accounts(id),
    name             TEXT NOT NULL,
    created_ms       INTEGER NOT NULL,
    recording_config TEXT
);
CREATE INDEX apps_by_account ON apps(account_id, created_ms, id);

CREATE TABLE tokens (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts(id),
    permission  TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    created_ms  INTEGER NOT NULL,
    revoked_ms  INTEGER
);
CREATE INDEX tokens_by_account ON tokens(account_id);

CREATE TABLE meetings (
    seq                             INTEGER PRIMARY KEY,
    id                              TEXT NOT NULL UNIQUE,
    app_id                          TEXT NOT NULL,
    title                           TEXT,
    title_folded                    TEXT NOT NULL DEFAULT '',
    status                          TEXT NOT NULL,
    record_on_start                 INTEGER NOT NULL DEFAULT 0,
    live_stream_on_start            INTEGER NOT NULL DEFAULT 0,
    persist_chat                    INTEGER NOT NULL DEFAULT 0,
    summarize_on_end                INTEGER NOT NULL DEFAULT 0,
    transcribe_on_end               INTEGER,
    session_keep_alive_time_in_secs REAL NOT NULL DEFAULT 60,
    recording_config                TEXT,
    ai_config                       TEXT,
    created_ms                      INTEGER NOT NULL,
    updated_ms                      INTEGER NOT NULL,
    wire                            BLOB NOT NULL
);
CREATE INDEX meetings_by_app ON meetings(app_id, created_ms, id);
CREATE INDEX meetings_by_app_status ON meetings(app_id, status, created_ms, id);

-- Substring search over titles: a trigram index over the case-folded title.
CREATE VIRTUAL TABLE meetings_fts USING fts5(
    title_folded, content='meetings', content_rowid='seq', tokenize='trigram case_sensitive 1'
);
CREATE TRIGGER meetings_fts_insert AFTER INSERT ON meetings BEGIN
    INSERT INTO meetings_fts(rowid, title_folded) VALUES (new.seq, new.title_folded);
END;
CREATE TRIGGER meetings_fts_delete AFTER DELETE ON meetings BEGIN
    INSERT INTO meetings_fts(meetings_fts, rowid, title_folded) VALUES ('delete', old.seq, old.title_folded);
END;
CREATE TRIGGER meetings_fts_update AFTER UPDATE OF title_folded ON meetings BEGIN
    INSERT INTO meetings_fts(meetings_fts, rowid, title_folded) VALUES ('delete', old.seq, old.title_folded);
    INSERT INTO meetings_fts(rowid, title_folded) VALUES (new.seq, new.title_folded);
END;

-- A recording is its indexed keys plus its wire rendering (the list item without the meeting,
-- made at write time), the fields that are not on the wire (detail), and its encrypted secrets.
CREATE TABLE recordings (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    app         INTEGER NOT NULL,
    meeting_id  TEXT NOT NULL,
    status      TEXT NOT NULL,
    invoked_ms  INTEGER NOT NULL,
    expiry_ms   INTEGER,
    wire        BLOB NOT NULL,
    detail      BLOB,
    secrets     BLOB,
    updated_ms  INTEGER NOT NULL,
    -- RecordKit's own recordings (imported ones are records only and no worker ever touches them):
    managed     INTEGER NOT NULL DEFAULT 0,
    owner       TEXT,       -- the process that runs it, while it is not finished
    lease_ms    INTEGER,    -- ... until then
    purged_ms   INTEGER     -- when the retention sweep deleted its bucket copy
);
-- The time index also carries status and expiry, so walks filtered by them read no table rows.
CREATE INDEX recordings_by_time ON recordings(app, invoked_ms, id, status, expiry_ms);
CREATE INDEX recordings_by_status ON recordings(app, status, invoked_ms, id);
CREATE INDEX recordings_by_meeting ON recordings(app, meeting_id, invoked_ms, id);
CREATE INDEX recordings_by_expiry ON recordings(app, expiry_ms) WHERE expiry_ms IS NOT NULL;

CREATE INDEX recordings_unfinished ON recordings(status, lease_ms)
    WHERE managed = 1 AND status IN ('INVOKED', 'RECORDING', 'PAUSED', 'UPLOADING');
CREATE INDEX recordings_to_purge ON recordings(expiry_ms)
    WHERE managed = 1 AND expiry_ms IS NOT NULL AND purged_ms IS NULL;

-- Exact counts without scans: dim is T (total), iH/iD (invoked_time hour/day), eH/eD (expiry hour/day).
CREATE TABLE recording_counts (
    app     INTEGER NOT NULL,
    dim     TEXT NOT NULL,
    status  TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    PRIMARY KEY (app, dim, status, bucket)
) WITHOUT ROWID;
