//! `namespaces`: the namespaces this server may read, with status and age.

use crate::error::Result;
use crate::target::{Target, kinds};
use crate::value::{Table, age, created, name, s};

/// Lists namespaces (filtered by the namespace policy).
pub async fn namespaces(t: &Target) -> Result<String> {
    let listed = t.list(&kinds::namespaces(), None, None, None).await?;
    let now = t.now();
    let mut tb = Table::new(&["NAME", "STATUS", "AGE"]);
    for n in &listed.items {
        tb.row(vec![
            name(n).into(),
            s(n, "/status/phase").into(),
            age(now, created(n)),
        ]);
    }
    let mut out = format!(
        "# {} namespaces (context {})\n{}",
        listed.items.len(),
        t.context(),
        tb.render("")
    );
    if listed.filtered_namespaces > 0 {
        out.push_str(&format!(
            "# {} namespaces hidden by this server's namespace policy\n",
            listed.filtered_namespaces
        ));
    }
    Ok(out)
}
