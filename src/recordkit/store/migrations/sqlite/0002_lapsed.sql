-- expired=true pages without walking past the unexpired week: rows whose expiry lies before
-- lapse_cut(now) (recordkit.domain.counting) carry lapsed = 1 and have an ordered index of their own;
-- the rest keep an expiry index, so "expired" = lapsed rows + unlapsed rows with expiry <= now,
-- two ordered walks merged. Writes set the flag; a sweep flags the rows that lapse as time passes.
ALTER TABLE recordings ADD COLUMN lapsed INTEGER NOT NULL DEFAULT 0;
UPDATE recordings SET lapsed = 1
    WHERE expiry_ms IS NOT NULL
    AND expiry_ms < (CAST((julianday('now') - 2440587.5) * 24 AS INTEGER) - 1) * 3600000;
DROP INDEX recordings_by_expiry;
CREATE INDEX recordings_lapsed ON recordings(app, invoked_ms, id, status) WHERE lapsed = 1;
CREATE INDEX recordings_lapsing ON recordings(app, expiry_ms) WHERE lapsed = 0 AND expiry_ms IS NOT NULL;
