-- Per-record outcomes are kept one row per batch (docs/adr/0025): the JSON array of the batch's
-- outcomes (position = index; a void deletion is null) and a Bloom filter of their email keys, which
-- explain tests before it reads a batch (store/outcomes.py computes both). A run of a million records
-- wrote a million rows and two million index entries here; now it writes a thousand rows.
CREATE TABLE batch_outcomes (
    run_id   text COLLATE "C" NOT NULL,
    seq      integer NOT NULL,
    at       timestamptz NOT NULL,
    outcomes bytea NOT NULL,
    emails   bytea,  -- NULL: a batch converted from record_outcomes below, which explain always reads
    PRIMARY KEY (run_id, seq)
);
DO $$
BEGIN
    ALTER TABLE batch_outcomes ALTER COLUMN outcomes SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;  -- a server built without lz4: pglz it is
END
$$;

-- What was stored a row per record moves over, positions kept (a void deletion's gap becomes null).
INSERT INTO batch_outcomes (run_id, seq, at, outcomes)
SELECT b.run_id, b.seq, b.at,
       convert_to(json_agg(
           CASE WHEN o.position IS NULL THEN NULL
                ELSE json_build_object('record_id', o.record_id, 'email', o.email, 'outcome', o.outcome,
                                       'reason', o.reason, 'problem', o.problem) END
           ORDER BY p)::text, 'UTF8')
  FROM (SELECT run_id, seq, max(at) AS at, max(position) AS last FROM record_outcomes GROUP BY run_id, seq) b
 CROSS JOIN LATERAL generate_series(0, b.last) AS p
  LEFT JOIN record_outcomes o ON o.run_id = b.run_id AND o.seq = b.seq AND o.position = p
 GROUP BY b.run_id, b.seq, b.at;

DROP TABLE record_outcomes;
