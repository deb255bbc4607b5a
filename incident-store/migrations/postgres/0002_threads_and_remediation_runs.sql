-- Slack threads: an alert posted in Slack is answered in its own thread, which
-- now lives in reply_channel/reply_thread like an on-demand request's (it was
-- only in the alert's annotations), so a reply in any incident thread finds
-- its incident through an index instead of a scan.
UPDATE incidents SET
    reply_channel = alert_json::jsonb #>> '{annotations,sre-agent/slack-channel}',
    reply_thread  = alert_json::jsonb #>> '{annotations,sre-agent/slack-thread}'
WHERE reply_channel IS NULL
  AND alert_json::jsonb #>> '{annotations,sre-agent/slack-channel}' IS NOT NULL;
CREATE INDEX incidents_slack_message ON incidents (slack_channel, slack_ts);
CREATE INDEX incidents_reply_thread ON incidents (reply_channel, reply_thread);

-- Approved remediation steps run through a write tool. The primary key makes
-- "run once" hold across replicas and double clicks: the approval that
-- inserts the row runs the step; any other sees the row.
CREATE TABLE remediation_runs (
    incident_id BIGINT  NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    step        BIGINT  NOT NULL,                      -- index in the RCA's remediation
    tool        TEXT    NOT NULL,                      -- server.tool that ran it
    arguments   TEXT    NOT NULL,                      -- JSON
    approved_by TEXT    NOT NULL,
    started_at  BIGINT  NOT NULL,
    finished_at BIGINT,
    status      TEXT    NOT NULL,                      -- running|succeeded|failed
    result      TEXT,
    PRIMARY KEY (incident_id, step)
);
