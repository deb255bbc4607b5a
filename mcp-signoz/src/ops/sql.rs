//! `query_sql`: read-only SQL on SigNoz's tables, when enabled.

use super::{OpResult, Signoz, SqlArgs};
use crate::store::Store;

impl<S: Store> Signoz<S> {
    /// Read-only SQL on SigNoz's tables, as TSV.
    pub async fn query_sql(&self, a: &SqlArgs) -> OpResult {
        let max_rows = a.max_rows.unwrap_or(100).clamp(1, 10_000) as usize;
        let text = self.store.raw_sql(&a.sql, max_rows).await?;
        // `result_overflow_mode=break` stops at a block boundary: cut exactly.
        let lines: Vec<String> = text
            .lines()
            .take(max_rows + 1)
            .map(str::to_string)
            .collect();
        let rows = lines.len().saturating_sub(1);
        Ok(self.paged(
            &format!("{rows} rows (read-only, at most {max_rows})"),
            "clickhouse query result",
            "",
            &lines,
            0,
            "a LIMIT, fewer columns",
        ))
    }
}
