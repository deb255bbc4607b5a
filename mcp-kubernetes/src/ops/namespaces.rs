//! `namespaces`: the namespaces this server may read, with status, age and labels (what a
//! NetworkPolicy's `namespaceSelector` or a policy engine matches on).

use crate::error::Result;
use crate::target::{Target, kinds};
use crate::value::{Table, age, clip, created, name, s};

/// Lists namespaces (filtered by the namespace policy).
pub async fn namespaces(t: &Target) -> Result<String> {
    let listed = t.list(&kinds::namespaces(), None, None, None).await?;
    let now = t.now();
    let mut tb = Table::new(&["NAME", "STATUS", "AGE", "LABELS"]);
    for n in &listed.items {
        // `kubernetes.io/metadata.name` repeats the name on every namespace: left out.
        let own = format!("kubernetes.io/metadata.name={}", name(n));
        let labels: Vec<String> = crate::value::labels(n)
            .split(',')
            .filter(|l| !l.is_empty() && *l != own)
            .map(str::to_string)
            .collect();
        tb.row(vec![
            name(n).into(),
            s(n, "/status/phase").into(),
            age(now, created(n)),
            if labels.is_empty() {
                "-".into()
            } else {
                clip(&labels.join(","), 200)
            },
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
