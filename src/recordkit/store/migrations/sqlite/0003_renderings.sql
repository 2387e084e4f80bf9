-- Each row's wire rendering, made at write time: list pages are assembled, not formatted.
ALTER TABLE recordings ADD COLUMN wire BLOB;
ALTER TABLE meetings ADD COLUMN wire BLOB;
CREATE INDEX recordings_unrendered ON recordings(seq) WHERE wire IS NULL;
CREATE INDEX meetings_unrendered ON meetings(seq) WHERE wire IS NULL;
