-- The incident store (sre_orchestrator::store), SQLite flavour. The PostgreSQL
-- flavour (../postgres) has the same tables and columns; only types, identity
-- columns and full-text search differ. All times are Unix milliseconds (UTC),
-- so both backends compare and order them the same way.

-- One row per investigated alert (or on-demand request).
CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT, -- never reused: ids appear in Slack
    fingerprint     TEXT    NOT NULL,
    on_demand       INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT    UNIQUE,                    -- on-demand only (Slack retries)
    source          TEXT    NOT NULL,
    alert_name      TEXT    NOT NULL,
    service         TEXT,
    namespace       TEXT,
    severity        TEXT,
    summary         TEXT    NOT NULL,
    category        TEXT,
    status          TEXT    NOT NULL,                  -- queued|investigating|done|failed|resolved
    alert_json      TEXT    NOT NULL,
    raw_payload     TEXT    NOT NULL,
    rca_json        TEXT,
    rca_text        TEXT,                              -- RCA summary, root cause, evidence: for search
    transcript_json TEXT,
    error           TEXT,
    verdict         TEXT,                              -- latest feedback: confirmed|wrong
    duplicates      INTEGER NOT NULL DEFAULT 0,
    requested_by    TEXT,
    reply_channel   TEXT,
    reply_thread    TEXT,
    slack_channel   TEXT,
    slack_ts        TEXT,
    slack_permalink TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    last_seen_at    INTEGER NOT NULL,
    resolved_at     INTEGER
);
CREATE INDEX incidents_fingerprint ON incidents (fingerprint, created_at);
CREATE INDEX incidents_service ON incidents (service, created_at);
CREATE INDEX incidents_alert_name ON incidents (alert_name, created_at);
CREATE INDEX incidents_status ON incidents (status);
CREATE INDEX incidents_created ON incidents (created_at);

-- Full text over the incident; a plain FTS5 table kept in sync by triggers,
-- so no code path can forget it.
CREATE VIRTUAL TABLE incidents_fts USING fts5 (
    alert_name, service, summary, rca_text,
    tokenize = 'porter unicode61'
);
CREATE TRIGGER incidents_fts_insert AFTER INSERT ON incidents BEGIN
    INSERT INTO incidents_fts (rowid, alert_name, service, summary, rca_text)
    VALUES (new.id, new.alert_name, coalesce(new.service, ''), new.summary, coalesce(new.rca_text, ''));
END;
CREATE TRIGGER incidents_fts_update AFTER UPDATE OF alert_name, service, summary, rca_text ON incidents BEGIN
    DELETE FROM incidents_fts WHERE rowid = old.id;
    INSERT INTO incidents_fts (rowid, alert_name, service, summary, rca_text)
    VALUES (new.id, new.alert_name, coalesce(new.service, ''), new.summary, coalesce(new.rca_text, ''));
END;
CREATE TRIGGER incidents_fts_delete AFTER DELETE ON incidents BEGIN
    DELETE FROM incidents_fts WHERE rowid = old.id;
END;

-- The durable queue: one investigation job per incident, retried in place.
CREATE TABLE jobs (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL UNIQUE REFERENCES incidents (id) ON DELETE CASCADE,
    status       TEXT    NOT NULL,                     -- queued|running|done|failed
    attempts     INTEGER NOT NULL DEFAULT 0,           -- claims so far; the fencing token
    max_attempts INTEGER NOT NULL,
    worker       TEXT,
    lease_until  INTEGER,
    run_after    INTEGER NOT NULL,
    last_error   TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs (status, run_after);
CREATE INDEX jobs_lease ON jobs (status, lease_until);

CREATE TABLE feedback (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    verdict     TEXT    NOT NULL,                      -- confirmed|wrong
    user_name   TEXT    NOT NULL,
    comment     TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX feedback_incident ON feedback (incident_id);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    actor      TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    result     TEXT    NOT NULL
);

-- The knowledge base: Markdown runbooks split into sections by heading.
CREATE TABLE runbooks (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    root       TEXT    NOT NULL,                       -- the folder indexed
    path       TEXT    NOT NULL,                       -- the file, as found under root
    title      TEXT    NOT NULL,
    sha256     TEXT    NOT NULL,
    indexed_at INTEGER NOT NULL,
    UNIQUE (root, path)
);
CREATE TABLE runbook_sections (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    runbook_id INTEGER NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    title      TEXT    NOT NULL,                       -- the runbook's, repeated for search
    heading    TEXT    NOT NULL,
    body       TEXT    NOT NULL
);
CREATE INDEX runbook_sections_runbook ON runbook_sections (runbook_id);
CREATE VIRTUAL TABLE runbook_fts USING fts5 (
    title, heading, body,
    tokenize = 'porter unicode61'
);
CREATE TRIGGER runbook_fts_insert AFTER INSERT ON runbook_sections BEGIN
    INSERT INTO runbook_fts (rowid, title, heading, body) VALUES (new.id, new.title, new.heading, new.body);
END;
CREATE TRIGGER runbook_fts_delete AFTER DELETE ON runbook_sections BEGIN
    DELETE FROM runbook_fts WHERE rowid = old.id;
END;
