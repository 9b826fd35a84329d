-- The person search of the audit log, and which "view as" session a request belongs to.
--
-- audit_personal.search holds the entry's personal values (the names and addresses recorded
-- for its people and those in its details), lower-cased and joined by spaces: a search word
-- matches values, never the keys or the punctuation of the JSON in data. It is derived from
-- data, written with it and blanked with it on erasure. Rows written before this migration get
-- theirs here.
ALTER TABLE audit_personal ADD COLUMN search TEXT;
UPDATE audit_personal SET search = (
    SELECT group_concat(v, ' ')
    FROM (SELECT lower(j.value) AS v FROM json_each(audit_personal.data) j
          WHERE j.type = 'text' ORDER BY j.id))
WHERE data IS NOT NULL AND json_valid(data);

-- audit_log.view_session copies the "session_id" of the details of an "impersonation.*" entry
-- (the details, not this copy, are what the entry's hash covers), so the requests of one view-as
-- session are found by their session, even while the same two people hold two at once. Entries
-- written before this migration have none and are grouped by time as before.
ALTER TABLE audit_log ADD COLUMN view_session TEXT;
CREATE INDEX audit_log_view_session ON audit_log(chain, view_session, id)
    WHERE view_session IS NOT NULL;
