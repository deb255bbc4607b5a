-- The incident store (sre_orchestrator::store), PostgreSQL flavour. Same tables
-- and columns as ../sqlite; full-text search is a generated tsvector with a GIN
-- index instead of FTS5. All times are Unix milliseconds (UTC), as in SQLite
-- (`to_timestamp(created_at / 1000.0)` for people reading the tables).

CREATE TABLE incidents (
    id              BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint     TEXT    NOT NULL,
    on_demand       BOOLEAN NOT NULL DEFAULT FALSE,
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
    duplicates      BIGINT  NOT NULL DEFAULT 0,
    requested_by    TEXT,
    reply_channel   TEXT,
    reply_thread    TEXT,
    slack_channel   TEXT,
    slack_ts        TEXT,
    slack_permalink TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    last_seen_at    BIGINT  NOT NULL,
    resolved_at     BIGINT,
    search_vector   tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', alert_name), 'A') ||
        setweight(to_tsvector('english', coalesce(service, '')), 'A') ||
        setweight(to_tsvector('english', summary), 'B') ||
        setweight(to_tsvector('english', coalesce(rca_text, '')), 'B')
    ) STORED
);
CREATE INDEX incidents_fingerprint ON incidents (fingerprint, created_at);
CREATE INDEX incidents_service ON incidents (service, created_at);
CREATE INDEX incidents_alert_name ON incidents (alert_name, created_at);
CREATE INDEX incidents_status ON incidents (status);
CREATE INDEX incidents_created ON incidents (created_at);
CREATE INDEX incidents_search ON incidents USING GIN (search_vector);

-- The durable queue: one investigation job per incident, retried in place.
CREATE TABLE jobs (
    id           BIGINT  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id  BIGINT  NOT NULL UNIQUE REFERENCES incidents (id) ON DELETE CASCADE,
    status       TEXT    NOT NULL,                     -- queued|running|done|failed
    attempts     BIGINT  NOT NULL DEFAULT 0,           -- claims so far; the fencing token
    max_attempts BIGINT  NOT NULL,
    worker       TEXT,
    lease_until  BIGINT,
    run_after    BIGINT  NOT NULL,
    last_error   TEXT,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL
);
CREATE INDEX jobs_ready ON jobs (status, run_after);
CREATE INDEX jobs_lease ON jobs (status, lease_until);

CREATE TABLE feedback (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    verdict     TEXT   NOT NULL,                       -- confirmed|wrong
    user_name   TEXT   NOT NULL,
    comment     TEXT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX feedback_incident ON feedback (incident_id);

CREATE TABLE audit_log (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     BIGINT NOT NULL,
    actor  TEXT   NOT NULL,
    action TEXT   NOT NULL,
    target TEXT   NOT NULL,
    result TEXT   NOT NULL
);

-- The knowledge base: Markdown runbooks split into sections by heading.
CREATE TABLE runbooks (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    root       TEXT   NOT NULL,                        -- the folder indexed
    path       TEXT   NOT NULL,                        -- the file, as found under root
    title      TEXT   NOT NULL,
    sha256     TEXT   NOT NULL,
    indexed_at BIGINT NOT NULL,
    UNIQUE (root, path)
);
CREATE TABLE runbook_sections (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    runbook_id    BIGINT NOT NULL REFERENCES runbooks (id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    title         TEXT   NOT NULL,                     -- the runbook's, repeated for search
    heading       TEXT   NOT NULL,
    body          TEXT   NOT NULL,
    search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') ||
        setweight(to_tsvector('english', heading), 'A') ||
        setweight(to_tsvector('english', body), 'B')
    ) STORED
);
CREATE INDEX runbook_sections_runbook ON runbook_sections (runbook_id);
CREATE INDEX runbook_sections_search ON runbook_sections USING GIN (search_vector);
