//! The raw SQL guard: ClickHouse's own parser (`EXPLAIN AST`) says what a
//! query reads, and only a SELECT over allowed tables passes.

use crate::store::{StoreError, StoreResult};

/// Checks an `EXPLAIN AST` tree: a SELECT, reading only allowed tables, no
/// table functions.
pub fn check_ast(ast: &str, sql: &str, allowed: &[String]) -> StoreResult<()> {
    let lines: Vec<&str> = ast.lines().collect();
    let first = lines.first().map(|l| l.trim()).unwrap_or("");
    if !(first.starts_with("SelectWithUnionQuery")
        || first.starts_with("SelectIntersectExceptQuery"))
    {
        return Err(StoreError::Invalid(
            "only SELECT queries are allowed".into(),
        ));
    }
    for (i, line) in lines.iter().enumerate() {
        if !line.trim().starts_with("TableExpression") {
            continue;
        }
        let Some(child) = lines.get(i + 1).map(|l| l.trim()) else {
            continue;
        };
        if let Some(rest) = child.strip_prefix("TableIdentifier ") {
            let name = rest.split_whitespace().next().unwrap_or("");
            let ok = if name.contains('.') {
                allowed.iter().any(|a| a == name)
            } else {
                // A CTE defined in the query itself.
                regex::Regex::new(&format!(r"(?i)\b{}\s+AS\s*\(", regex::escape(name)))
                    .is_ok_and(|re| re.is_match(sql))
            };
            if !ok {
                return Err(StoreError::Invalid(format!(
                    "table `{name}` is not allowed; allowed: {}",
                    allowed.join(", ")
                )));
            }
        } else if let Some(f) = child.strip_prefix("Function ") {
            let name = f.split_whitespace().next().unwrap_or("");
            return Err(StoreError::Invalid(format!(
                "table function `{name}` is not allowed; query the allowed tables: {}",
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AST_JOIN_URL: &str = "SelectWithUnionQuery (children 1)
 ExpressionList (children 1)
  SelectQuery (children 3)
   TablesInSelectQuery (children 2)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      TableIdentifier signoz_logs.logs_v2 (alias l)
    TablesInSelectQueryElement (children 1)
     TableExpression (children 1)
      Function url (children 1)";

    #[test]
    fn ast_check_allows_listed_tables_and_refuses_the_rest() {
        let allowed = vec!["signoz_logs.logs_v2".to_string()];
        let err = check_ast(AST_JOIN_URL, "", &allowed).unwrap_err();
        assert!(err.to_string().contains("table function `url`"), "{err}");
        let ok = "SelectWithUnionQuery\n TableExpression (children 1)\n  TableIdentifier signoz_logs.logs_v2";
        assert!(check_ast(ok, "", &allowed).is_ok());
        let sys = ok.replace("signoz_logs.logs_v2", "system.users");
        assert!(check_ast(&sys, "", &allowed).is_err());
        let cte = ok.replace("signoz_logs.logs_v2", "x");
        assert!(check_ast(&cte, "WITH x AS (SELECT 1) SELECT * FROM x", &allowed).is_ok());
        assert!(check_ast(&cte, "SELECT * FROM x", &allowed).is_err());
        assert!(check_ast("InsertQuery", "", &allowed).is_err());
    }
}
