-- BatchImported version 2 (docs/adr/0007): a batch names the earlier outcomes of its run that its
-- records displace, as (batch seq, position in that batch's outcomes). A claim on an email therefore
-- keeps where its holder's outcome was published; and an imported batch keeps what it named, so a
-- redelivery republishes the same event.

ALTER TABLE run_emails ADD COLUMN position integer;  -- index of the holder's outcome in batch `seq`

-- Claims written before: their holder's outcome is in the batch's recorded outcomes (written in the
-- same transaction), the one of that record holding the email (any outcome past check 4 does, and a
-- deletion acted on). A claim whose outcome cannot be found stays null: a takeover of it names nothing.
UPDATE run_emails AS e
   SET position = o.position
  FROM (
        SELECT b.run_id, b.seq, item->>'record_id' AS record_id, item->>'outcome' = 'deleted' AS deletion,
               min(ordinality - 1) AS position
          FROM imported_batches AS b
         CROSS JOIN LATERAL jsonb_array_elements(b.outcomes) WITH ORDINALITY AS t(item, ordinality)
         WHERE item->>'outcome' <> 'ignored'
            OR item->>'reason' IN ('opt_out', 'converted', 'do_not_mail', 'bounced')
         GROUP BY 1, 2, 3, 4
       ) AS o
 WHERE e.run_id = o.run_id AND e.seq = o.seq AND e.record_id = o.record_id AND e.deletion = o.deletion;

ALTER TABLE imported_batches ADD COLUMN superseded jsonb NOT NULL DEFAULT '[]';

-- Outcomes as version 2 writes them: a malformed record's reason is `malformed` and its problem a
-- field of its own (version 1 wrote "malformed: <problem>"; it wrote no other reason with a colon).
UPDATE imported_batches
   SET outcomes = (
        SELECT jsonb_agg(
                   CASE WHEN item->>'reason' LIKE 'malformed:%'
                        THEN item || jsonb_build_object(
                                 'reason', 'malformed',
                                 'problem', nullif(btrim(substr(item->>'reason', length('malformed:') + 1)), ''))
                        ELSE item
                   END
                   ORDER BY ordinality)
          FROM jsonb_array_elements(outcomes) WITH ORDINALITY AS t(item, ordinality)
       )
 WHERE outcomes @? '$[*] ? (@.reason starts with "malformed:")';
