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

-- People's notes are searched with the incident: their text, appended by
-- add_note, joins the full-text index as a fifth column. An FTS5 table
-- cannot gain a column, so it is rebuilt from the incidents.
ALTER TABLE incidents ADD COLUMN notes_text TEXT;
DROP TRIGGER incidents_fts_insert;
DROP TRIGGER incidents_fts_update;
DROP TRIGGER incidents_fts_delete;
DROP TABLE incidents_fts;
CREATE VIRTUAL TABLE incidents_fts USING fts5 (
    alert_name, service, summary, rca_text, notes_text,
    tokenize = 'porter unicode61'
);
INSERT INTO incidents_fts (rowid, alert_name, service, summary, rca_text, notes_text)
SELECT id, alert_name, coalesce(service, ''), summary, coalesce(rca_text, ''), '' FROM incidents;
CREATE TRIGGER incidents_fts_insert AFTER INSERT ON incidents BEGIN
    INSERT INTO incidents_fts (rowid, alert_name, service, summary, rca_text, notes_text)
    VALUES (new.id, new.alert_name, coalesce(new.service, ''), new.summary,
            coalesce(new.rca_text, ''), coalesce(new.notes_text, ''));
END;
CREATE TRIGGER incidents_fts_update
AFTER UPDATE OF alert_name, service, summary, rca_text, notes_text ON incidents BEGIN
    DELETE FROM incidents_fts WHERE rowid = old.id;
    INSERT INTO incidents_fts (rowid, alert_name, service, summary, rca_text, notes_text)
    VALUES (new.id, new.alert_name, coalesce(new.service, ''), new.summary,
            coalesce(new.rca_text, ''), coalesce(new.notes_text, ''));
END;
CREATE TRIGGER incidents_fts_delete AFTER DELETE ON incidents BEGIN
    DELETE FROM incidents_fts WHERE rowid = old.id;
END;
