-- Two savings on every batch's writes (docs/adr/0025):
--
-- An imported batch keeps its outcomes and supersessions as the JSON bytes the importer made (bytea):
-- PostgreSQL no longer parses some 150 kB of JSON per batch into jsonb, only to hand it back whole on a
-- redelivery. They are compressed with lz4 where the server has it (pglz, the default, took 3% of the
-- importer's database CPU).
ALTER TABLE imported_batches
    ALTER COLUMN outcomes TYPE bytea USING convert_to(outcomes::text, 'UTF8'),
    ALTER COLUMN superseded DROP DEFAULT,
    ALTER COLUMN superseded TYPE bytea USING convert_to(superseded::text, 'UTF8');
DO $$
BEGIN
    ALTER TABLE imported_batches ALTER COLUMN outcomes SET COMPRESSION lz4;
    ALTER TABLE imported_batches ALTER COLUMN superseded SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;  -- a server built without lz4: pglz it is
END
$$;

-- Keys compare byte by byte (COLLATE "C"): every index probe and insert compares keys, and a database
-- whose default collation is not "C" (C.UTF-8 here, en_US.UTF-8 in many) otherwise copies both strings
-- and calls strcoll for each comparison. Keys are ASCII or NFC strings used only for equality and a
-- stable order, and every ORDER BY that users see already says COLLATE "C".
ALTER TABLE contacts ALTER COLUMN email_key TYPE text COLLATE "C";
ALTER TABLE memberships ALTER COLUMN email_key TYPE text COLLATE "C";
ALTER TABLE record_links
    ALTER COLUMN record_id TYPE text COLLATE "C",
    ALTER COLUMN module TYPE text COLLATE "C",
    ALTER COLUMN email_key TYPE text COLLATE "C";
ALTER TABLE suppressions ALTER COLUMN email_key TYPE text COLLATE "C";
ALTER TABLE run_emails ALTER COLUMN run_id TYPE text COLLATE "C", ALTER COLUMN email_key TYPE text COLLATE "C";
ALTER TABLE imported_batches ALTER COLUMN run_id TYPE text COLLATE "C";
