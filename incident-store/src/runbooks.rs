//! The knowledge base: runbooks indexed from Markdown files and searched by
//! their sections.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{
    MARK_END, MARK_START, Pool, RunbookHit, RunbookIndexReport, Store, StoreError, now_ms, text,
};

impl Store {
    /// Indexes the Markdown files (`.md`, `.markdown`) under `dir`,
    /// recursively (hidden folders skipped): each file's title is its first
    /// `# ` heading (else its name), and it is searchable by section.
    /// Idempotent: unchanged files are left alone, changed ones re-indexed,
    /// and files no longer there removed from the index.
    pub async fn index_runbooks(&self, dir: &Path) -> Result<RunbookIndexReport, StoreError> {
        let dir = dir.to_path_buf();
        let (root, files) = tokio::task::spawn_blocking(move || read_runbooks(&dir))
            .await
            .map_err(|e| StoreError::Io {
                path: PathBuf::new(),
                source: std::io::Error::other(e.to_string()),
            })??;
        let now = now_ms();
        let mut report = RunbookIndexReport::default();
        on_pool!(self, pool => {
            let mut tx = pool.begin_with(self.begin_sql()).await?;
            let known: Vec<(i64, String, String)> =
                sqlx::query_as("SELECT id, path, sha256 FROM runbooks WHERE root = $1")
                    .bind(&root)
                    .fetch_all(&mut *tx)
                    .await?;
            let mut known: HashMap<String, (i64, String)> =
                known.into_iter().map(|(id, path, sha)| (path, (id, sha))).collect();
            for file in &files {
                let id = match known.remove(&file.path) {
                    Some((_, sha)) if sha == file.sha256 => {
                        report.unchanged += 1;
                        continue;
                    }
                    Some((id, _)) => {
                        sqlx::query("DELETE FROM runbook_sections WHERE runbook_id = $1")
                            .bind(id)
                            .execute(&mut *tx)
                            .await?;
                        sqlx::query(
                            "UPDATE runbooks SET title = $2, sha256 = $3, indexed_at = $4 WHERE id = $1",
                        )
                        .bind(id)
                        .bind(&file.parsed.title)
                        .bind(&file.sha256)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        report.updated += 1;
                        id
                    }
                    None => {
                        report.added += 1;
                        sqlx::query_scalar(
                            "INSERT INTO runbooks (root, path, title, sha256, indexed_at) \
                             VALUES ($1, $2, $3, $4, $5) RETURNING id",
                        )
                        .bind(&root)
                        .bind(&file.path)
                        .bind(&file.parsed.title)
                        .bind(&file.sha256)
                        .bind(now)
                        .fetch_one(&mut *tx)
                        .await?
                    }
                };
                for (position, (heading, body)) in file.parsed.sections.iter().enumerate() {
                    sqlx::query(
                        "INSERT INTO runbook_sections (runbook_id, position, title, heading, body) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(id)
                    .bind(i64::try_from(position).unwrap_or(i64::MAX))
                    .bind(&file.parsed.title)
                    .bind(heading)
                    .bind(body)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            for (id, _) in known.values() {
                sqlx::query("DELETE FROM runbook_sections WHERE runbook_id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query("DELETE FROM runbooks WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                report.removed += 1;
            }
            tx.commit().await?;
        });
        tracing::info!(root = %root, ?report, "runbooks indexed");
        Ok(report)
    }

    /// Runbook sections matching the query (same syntax as
    /// [`Store::search`]), best first, each snippet with the matched words
    /// between [`MARK_START`] and [`MARK_END`] as in incident hits, so one
    /// renderer marks both.
    pub async fn search_runbooks(
        &self,
        query: &str,
        limit: u32,
    ) -> Result<Vec<RunbookHit>, StoreError> {
        let limit = i64::from(limit.max(1));
        let rows: Vec<(String, String, String, String)> = match &self.pool {
            Pool::Sqlite(pool) => {
                let Some(expr) = text::fts5_search(query) else {
                    return Ok(Vec::new());
                };
                sqlx::query_as(
                    "SELECT s.title, r.path, s.heading, \
                     snippet(runbook_fts, 2, $3, $4, '…', 24) \
                     FROM runbook_fts \
                     JOIN runbook_sections s ON s.id = runbook_fts.rowid \
                     JOIN runbooks r ON r.id = s.runbook_id \
                     WHERE runbook_fts MATCH $1 \
                     ORDER BY bm25(runbook_fts, 5.0, 3.0, 1.0), s.id LIMIT $2",
                )
                .bind(expr)
                .bind(limit)
                .bind(MARK_START)
                .bind(MARK_END)
                .fetch_all(pool)
                .await?
            }
            Pool::Postgres(pool) => {
                if text::words(query).is_empty() {
                    return Ok(Vec::new());
                }
                sqlx::query_as(
                    "SELECT s.title, r.path, s.heading, \
                     ts_headline('english', s.body, q, $3) \
                     FROM runbook_sections s \
                     JOIN runbooks r ON r.id = s.runbook_id \
                     CROSS JOIN websearch_to_tsquery('english', $1) q \
                     WHERE s.search_vector @@ q \
                     ORDER BY ts_rank(s.search_vector, q) DESC, s.id LIMIT $2",
                )
                .bind(query)
                .bind(limit)
                .bind(format!(
                    "StartSel={MARK_START}, StopSel={MARK_END}, MaxWords=30, MinWords=12, \
                     MaxFragments=1"
                ))
                .fetch_all(pool)
                .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|(title, path, heading, snippet)| RunbookHit {
                title,
                path,
                heading,
                snippet,
            })
            .collect())
    }
}

/// A runbook file read from disk.
struct RunbookFile {
    path: String,
    sha256: String,
    parsed: text::ParsedRunbook,
}

/// Reads the Markdown files under `dir` (blocking). Returns the canonical
/// folder, so `./runbooks` and `runbooks` index the same set.
fn read_runbooks(dir: &Path) -> Result<(String, Vec<RunbookFile>), StoreError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StoreError::Io { path, source }
    };
    let root = std::fs::canonicalize(dir).map_err(io(dir))?;
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(folder) = pending.pop() {
        for entry in std::fs::read_dir(&folder).map_err(io(&folder))? {
            let entry = entry.map_err(io(&folder))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue;
            }
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_dir() {
                pending.push(path);
                continue;
            }
            let is_markdown = path.extension().and_then(|e| e.to_str()).is_some_and(|e| {
                e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("markdown")
            });
            if !is_markdown {
                continue;
            }
            let bytes = std::fs::read(&path).map_err(io(&path))?;
            let content = String::from_utf8_lossy(&bytes);
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            files.push(RunbookFile {
                path: path.to_string_lossy().into_owned(),
                sha256: hex::encode(Sha256::digest(&bytes)),
                parsed: text::split_markdown(&content, &stem),
            });
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((root.to_string_lossy().into_owned(), files))
}
