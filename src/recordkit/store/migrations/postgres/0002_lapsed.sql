-- expired=true pages without walking past the unexpired week: rows whose expiry lies before
-- lapse_cut(now) (recordkit.domain.counting) carry lapsed and have an ordered index of their own;
-- the rest keep an expiry index, so "expired" = lapsed rows + unlapsed rows with expiry <= now,
-- two ordered walks merged. Writes set the flag; a sweep flags the rows that lapse as time passes.
ALTER TABLE recordings ADD COLUMN lapsed boolean NOT NULL DEFAULT false;
UPDATE recordings SET lapsed = true
    WHERE expiry_ms IS NOT NULL
    AND expiry_ms < (floor(extract(epoch FROM clock_timestamp()) / 3600)::bigint - 1) * 3600000;
DROP INDEX recordings_by_expiry;
CREATE INDEX recordings_lapsed ON recordings(app, invoked_ms, id, status) WHERE lapsed;
CREATE INDEX recordings_lapsing ON recordings(app, expiry_ms) WHERE NOT lapsed AND expiry_ms IS NOT NULL;
