-- BatchImported version 2: the importer names the earlier outcomes a batch displaces, and reasons are typed.

-- A reason is now an IgnoreReason value; what could not be read of a malformed record is its own column.
-- Existing rows are converted as contracts.events.RecordOutcomeV1.upgrade reads old events: "opt_out"
-- stays, "malformed: Email is a number" becomes malformed + "Email is a number", and text that names no
-- reason at all ("record is not an object") is a malformed record's problem.
ALTER TABLE record_outcomes ADD COLUMN problem text;

WITH known (reason) AS (
    VALUES ('empty_email'), ('invalid_pattern'), ('role_address'), ('file_duplicate'), ('opt_out'),
           ('converted'), ('do_not_mail'), ('bounced'), ('malformed')
), parsed AS (
    SELECT run_id, seq, position, reason AS text,
           trim(split_part(reason, ':', 1)) IN (SELECT reason FROM known) AS names_a_reason,
           trim(split_part(reason, ':', 1)) AS head,
           CASE WHEN strpos(reason, ':') > 0 THEN trim(substr(reason, strpos(reason, ':') + 1)) END AS rest
      FROM record_outcomes
     WHERE reason IS NOT NULL AND reason NOT IN (SELECT reason FROM known)
)
UPDATE record_outcomes o
   SET reason  = CASE WHEN p.names_a_reason THEN p.head ELSE 'malformed' END,
       problem = CASE WHEN p.names_a_reason THEN nullif(p.rest, '') ELSE p.text END
  FROM parsed p
 WHERE (o.run_id, o.seq, o.position) = (p.run_id, p.seq, p.position);

ALTER TABLE record_outcomes ADD CONSTRAINT record_outcomes_reason_is_an_ignore_reason CHECK (
    reason IN ('empty_email', 'invalid_pattern', 'role_address', 'file_duplicate', 'opt_out', 'converted',
               'do_not_mail', 'bounced', 'malformed')
);

-- email_key is now recruit_sync.addresses.email_key (the domain IDNA-encoded). Existing keys are not
-- recomputed (SQL has no IDNA): they were the address trimmed and lower-cased, which is the same key for
-- every address with an ASCII domain; only an outcome stored for a Unicode domain keeps its old key.
-- The index record_outcomes_by_email (email_key, run_id) now serves explain alone: history no longer
-- looks addresses up within a run.

-- Supersessions (BatchImported.superseded) waiting for the batch whose outcome they name: batches reach
-- history in any order, so a batch may displace an outcome of one not received yet. Each is applied, and
-- deleted, in the transaction that records that batch; a run whose batches are all in has none left.
CREATE TABLE superseded (
    run_id   text NOT NULL,
    seq      integer NOT NULL,
    position integer NOT NULL,
    becomes  text NOT NULL CHECK (becomes IN ('file_duplicate', 'void')),
    PRIMARY KEY (run_id, seq, position)
);
