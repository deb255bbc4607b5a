-- The incident's workflow, apart from its investigation status: what people
-- did about it (open → acknowledged → mitigated → resolved, reopened), who
-- owns it, and their notes. `status` stays the investigation's own life.
ALTER TABLE incidents ADD COLUMN workflow TEXT NOT NULL DEFAULT 'open'; -- open|acknowledged|mitigated|resolved
ALTER TABLE incidents ADD COLUMN owner TEXT;
-- Incidents whose alert had already resolved start as resolved.
UPDATE incidents SET workflow = 'resolved' WHERE resolved_at IS NOT NULL;
CREATE INDEX incidents_workflow ON incidents (workflow, created_at);

CREATE TABLE incident_notes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    author      TEXT    NOT NULL,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX incident_notes_incident ON incident_notes (incident_id, id);
