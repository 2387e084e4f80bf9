-- expired=true's second walk, the few unlapsed rows whose expiry has passed since the last sweep:
-- PostgreSQL misjudges how many rows match "NOT lapsed AND expiry_ms IS NOT NULL AND expiry_ms <= now"
-- (it multiplies the three selectivities: ~12% of the app, where the truth is the rows of the last
-- hour or so) and so walked the time index backwards past the whole unexpired last week, a cost
-- that grows with the app (19,339 rows read for 20 on an app of 1,000,000; the whole app when none
-- match). The store now reads these rows from the lapsing index alone, behind an optimization fence,
-- and sorts them: with the columns the page and its filters need carried in the index (an
-- index-only scan), the planner takes it at any estimate. SQLite names the index (INDEXED BY).
DROP INDEX recordings_lapsing;
CREATE INDEX recordings_lapsing ON recordings(app, expiry_ms) INCLUDE (invoked_ms, id, status)
    WHERE NOT lapsed AND expiry_ms IS NOT NULL;
