-- The incident's workflow, apart from its investigation status: what people
-- did about it (open → acknowledged → mitigated → resolved, reopened), who
-- owns it, and their notes. `status` stays the investigation's own life.
ALTER TABLE incidents ADD COLUMN workflow TEXT NOT NULL DEFAULT 'open'; -- open|acknowledged|mitigated|resolved
ALTER TABLE incidents ADD COLUMN owner TEXT;
-- Incidents whose alert had already resolved start as resolved.
UPDATE incidents SET workflow = 'resolved' WHERE resolved_at IS NOT NULL;
CREATE INDEX incidents_workflow ON incidents (workflow, created_at);

CREATE TABLE incident_notes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    author      TEXT   NOT NULL,
    body        TEXT   NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX incident_notes_incident ON incident_notes (incident_id, id);

-- People's notes are searched with the incident: their text, appended by
-- add_note, joins the generated search vector (weighted like the RCA).
ALTER TABLE incidents ADD COLUMN notes_text TEXT;
DROP INDEX incidents_search;
ALTER TABLE incidents DROP COLUMN search_vector;
ALTER TABLE incidents ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english', alert_name), 'A') ||
    setweight(to_tsvector('english', coalesce(service, '')), 'A') ||
    setweight(to_tsvector('english', summary), 'B') ||
    setweight(to_tsvector('english', coalesce(rca_text, '')), 'B') ||
    setweight(to_tsvector('english', coalesce(notes_text, '')), 'B')
) STORED;
CREATE INDEX incidents_search ON incidents USING GIN (search_vector);
