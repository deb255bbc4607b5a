use super::*;

fn builtin() -> &'static Catalogue {
    Catalogue::builtin()
}

#[test]
fn the_builtin_catalogue_loads() {
    match parse_builtin(true) {
        Ok(c) => assert!(!c.is_empty()),
        Err(e) => panic!("{e}"),
    }
    assert!(builtin().len() >= 200, "{}", builtin().len());
}

#[test]
fn every_builtin_signature_is_complete() {
    for s in builtin().signatures() {
        assert!(!s.source.trim().is_empty(), "{}: no source", s.id);
        assert!(!s.stack.trim().is_empty(), "{}: no stack", s.id);
        assert!(!s.example.trim().is_empty(), "{}: no example", s.id);
        assert!(
            s.id.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            "{}: ids are lowercase-with-dashes",
            s.id
        );
    }
}

#[test]
fn every_builtin_signature_matches_its_own_example_in_each_of_its_fields() {
    for s in builtin().signatures() {
        for &f in &s.fields {
            let hits = builtin().matches(f, &s.example);
            assert!(
                hits.iter().any(|h| h.signature.id == s.id),
                "{} ({f:?}) does not match its own example {:?}",
                s.id,
                s.example
            );
        }
    }
}

/// Examples whose best hit is, on purpose, a signature of another kind:
/// (example's signature id, kind that wins, why).
const STOLEN: &[(&str, &str, &str)] = &[];

/// Whether `s` losing its own example to `winner` is by design: a
/// connect timeout with no refusal is first read as the dependency being
/// unreachable (strength 3); a network policy dropping the SYNs is the
/// weaker second reading of the same text (strength 2), kept in the hits
/// for the engine to weigh against other evidence.
fn stolen_by_design(s: &Signature, winner: &Signature) -> bool {
    (s.kind == "network_policy_blocked"
        && s.strength <= 2
        && winner.kind == "dependency_unreachable")
        || STOLEN
            .iter()
            .any(|(id, kind, _)| *id == s.id && *kind == winner.kind)
}

#[test]
fn the_best_hit_for_each_example_is_of_the_same_kind() {
    let mut wrong = Vec::new();
    for s in builtin().signatures() {
        for &f in &s.fields {
            let Some(best) = builtin().best(f, &s.example) else {
                wrong.push(format!("{}: no hit", s.id));
                continue;
            };
            if best.signature.kind == s.kind {
                continue;
            }
            if stolen_by_design(s, best.signature) {
                continue;
            }
            wrong.push(format!(
                "{} [{}] ({f:?}): best hit is {} [{}] for {:?}",
                s.id, s.kind, best.signature.id, best.signature.kind, s.example
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Peer signatures whose example names no peer (the peer group is
/// optional because the library does not always print the address).
const NO_PEER_IN_EXAMPLE: &[&str] = &["java-connect-exception"];

#[test]
fn peer_signatures_capture_a_peer_from_their_example() {
    let mut missing = Vec::new();
    for s in builtin().signatures() {
        if s.culprit != Culprit::Peer || NO_PEER_IN_EXAMPLE.contains(&s.id.as_str()) {
            continue;
        }
        let hits = builtin().matches(s.fields[0], &s.example);
        let Some(hit) = hits.iter().find(|h| h.signature.id == s.id) else {
            panic!("{} does not match its example", s.id)
        };
        if hit.peer.is_none() {
            missing.push(format!("{}: no peer in {:?}", s.id, s.example));
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

fn peer(field: Field, text: &str) -> Option<String> {
    builtin()
        .matches(field, text)
        .into_iter()
        .find_map(|h| h.peer)
}

#[test]
fn peers_are_captured_without_port_or_address() {
    assert_eq!(
        peer(
            Field::Log,
            "dial tcp 10.96.12.7:5432: connect: connection refused"
        )
        .as_deref(),
        Some("10.96.12.7")
    );
    assert_eq!(
        peer(
            Field::Log,
            "lookup inventory on 10.96.0.10:53: no such host"
        )
        .as_deref(),
        Some("inventory")
    );
    assert_eq!(
        peer(
            Field::Exception,
            "Error: getaddrinfo ENOTFOUND redis-master"
        )
        .as_deref(),
        Some("redis-master")
    );
    assert_eq!(
        peer(
            Field::Exception,
            "io.netty.channel.AbstractChannel$AnnotatedConnectException: Connection refused: prod-db/10.0.0.5:3333"
        )
        .as_deref(),
        Some("prod-db")
    );
}

#[test]
fn normalize_peer_strips_what_is_not_the_host() {
    let n = |s| normalize_peer(s);
    assert_eq!(n("10.0.0.5:3333").as_deref(), Some("10.0.0.5"));
    assert_eq!(n("prod-db/10.0.0.5:3333").as_deref(), Some("prod-db"));
    assert_eq!(n("/10.0.0.5:3333").as_deref(), Some("10.0.0.5"));
    assert_eq!(
        n("http://user:pw@api.example.com:8443/v1/x").as_deref(),
        Some("api.example.com")
    );
    assert_eq!(
        n("\"payments.shop.svc.cluster.local\"").as_deref(),
        Some("payments.shop.svc.cluster.local")
    );
    assert_eq!(n("[fd00::1]:80").as_deref(), Some("fd00::1"));
    assert_eq!(n("fd00::1").as_deref(), Some("fd00::1"));
    assert_eq!(n("\"\""), None);
}

#[test]
fn matching_reads_only_the_signatures_fields() {
    let c = Catalogue::from_toml(
        r#"
[[signature]]
id = "oom-reason"
kind = "oom_killed"
strength = 5
fields = ["container_reason"]
pattern = '^OOMKilled$'
example = "OOMKilled"
"#,
        "t.toml",
    )
    .unwrap();
    assert!(c.best(Field::ContainerReason, "OOMKilled").is_some());
    assert!(c.best(Field::ContainerReason, "oomkilled").is_some());
    assert!(c.best(Field::Log, "OOMKilled").is_none());
    assert!(c.best(Field::ContainerReason, "").is_none());
}

#[test]
fn case_sensitive_patterns_are_case_sensitive() {
    let c = Catalogue::from_toml(
        r#"
[[signature]]
id = "loading"
kind = "replication_lag"
strength = 3
case_sensitive = true
pattern = '^LOADING Redis is loading'
example = "LOADING Redis is loading the dataset in memory"
"#,
        "t.toml",
    )
    .unwrap();
    assert!(
        c.best(Field::Log, "LOADING Redis is loading the dataset in memory")
            .is_some()
    );
    assert!(
        c.best(Field::Log, "loading redis is loading the dataset in memory")
            .is_none()
    );
}

/// PostgreSQL's own words as CloudNativePG and EDB log them: one JSON
/// record per line, the quotes around a user or a relation escaped.
#[test]
fn postgres_words_are_read_inside_a_json_record() {
    let c = builtin();
    let line = r#"{"logger":"postgres","record":{"error_severity":"FATAL","sql_state_code":"28P01","message":"password authentication failed for user \"claims_app\"","detail":"User \"claims_app\" has an expired password.\nConnection matched file"}}"#;
    let hits: Vec<&str> = c
        .matches(Field::Log, line)
        .iter()
        .map(|h| h.signature.id.as_str())
        .collect();
    assert!(hits.contains(&"pg-password-auth-failed"), "{hits:?}");
    assert!(hits.contains(&"pg-role-password-expired"), "{hits:?}");
    // As a mined template, the user masked.
    assert!(
        c.best(
            Field::Log,
            "FATAL: password authentication failed for user <*>"
        )
        .is_some()
    );
    let missing = r#"{"message":"relation \"ledger_entries\" does not exist"}"#;
    assert!(c.best(Field::Log, missing).is_some());
}

#[test]
fn hits_are_strongest_first_then_longest() {
    let c = Catalogue::from_toml(
        r#"
[[signature]]
id = "weak"
kind = "new_error"
strength = 1
pattern = 'error'
example = "error"

[[signature]]
id = "short"
kind = "dependency_unreachable"
strength = 4
pattern = 'refused'
example = "refused"

[[signature]]
id = "long"
kind = "dependency_unreachable"
strength = 4
pattern = 'connection refused'
example = "connection refused"
"#,
        "t.toml",
    )
    .unwrap();
    let ids: Vec<_> = c
        .matches(Field::Log, "error: connection refused")
        .iter()
        .map(|h| h.signature.id.as_str())
        .collect();
    assert_eq!(ids, ["long", "short", "weak"]);
}

#[test]
fn long_texts_are_cut_and_matched_text_is_bounded() {
    let c = Catalogue::from_toml(
        r#"
[[signature]]
id = "any"
kind = "new_error"
strength = 1
pattern = 'x+'
example = "x"

[[signature]]
id = "tail"
kind = "new_error"
strength = 1
pattern = 'TAIL'
example = "TAIL"
"#,
        "t.toml",
    )
    .unwrap();
    let long = format!("{}é{}TAIL", "x".repeat(4095), "y".repeat(5000));
    let hits = c.matches(Field::Log, &long);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].matched.chars().count(), 200);
}

#[test]
fn extended_puts_user_signatures_first_and_overrides_ids() {
    let base = builtin();
    let some = &base.signatures()[0];
    let user = Catalogue::from_toml(
        &format!(
            r#"
[[signature]]
id = "in-house-db-timeout"
kind = "connection_pool_exhausted"
strength = 5
stack = "acme"
pattern = 'AcmeDb: no connection in \d+ms'
example = "AcmeDb: no connection in 500ms"

[[signature]]
id = "{}"
kind = "new_error"
strength = 1
pattern = 'never-matches-anything-real-\d{{9}}'
example = "never-matches-anything-real-123456789"
"#,
            some.id
        ),
        "user.toml",
    )
    .unwrap();
    let all = base.extended(user);
    assert_eq!(all.len(), base.len() + 1);
    assert_eq!(all.signatures()[0].id, "in-house-db-timeout");
    let replaced = all.get(&some.id).unwrap();
    assert_eq!(replaced.kind, "new_error");
    assert_eq!(replaced.origin(), "user.toml");
    let hit = all
        .best(Field::Log, "AcmeDb: no connection in 500ms")
        .unwrap();
    assert_eq!(hit.signature.id, "in-house-db-timeout");
    // The replaced built-in signature no longer matches its example.
    assert!(
        all.matches(some.fields[0], &some.example)
            .iter()
            .all(|h| h.signature.id != some.id)
    );
}

#[test]
fn a_user_signature_wins_a_tie_with_a_builtin_one() {
    let base = Catalogue::from_toml(
        r#"
[[signature]]
id = "refused"
kind = "dependency_unreachable"
strength = 4
pattern = 'connect: connection refused'
example = "connect: connection refused"
"#,
        "builtin.toml",
    )
    .unwrap();
    let user = Catalogue::from_toml(
        r#"
[[signature]]
id = "our-refused"
kind = "network_policy_blocked"
strength = 4
pattern = 'refused'
example = "refused"
"#,
        "user.toml",
    )
    .unwrap();
    let all = base.extended(user);
    let best = all.best(Field::Log, "connect: connection refused").unwrap();
    assert_eq!(best.signature.id, "our-refused");
}

fn error_of(toml_text: &str) -> String {
    match Catalogue::from_toml(toml_text, "user.toml") {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

const GOOD: &str = r#"
[[signature]]
id = "ok"
kind = "oom_killed"
strength = 5
pattern = 'OOMKilled'
example = "OOMKilled"
"#;

#[test]
fn a_bad_regex_is_reported_with_its_line() {
    let e = error_of(&format!(
        "{GOOD}\n[[signature]]\nid = \"bad\"\nkind = \"oom_killed\"\nstrength = 5\npattern = 'x(y'\nexample = \"x(y\"\n"
    ));
    assert!(
        e.starts_with("user.toml line 13 (id = \"bad\"): pattern does not compile"),
        "{e}"
    );
}

#[test]
fn an_unknown_kind_is_reported_with_its_line() {
    let e = error_of(&format!(
        "{GOOD}\n[[signature]]\nid = \"bad\"\nkind = \"disk_on_fire\"\nstrength = 5\npattern = 'x'\nexample = \"x\"\n"
    ));
    assert!(
        e.starts_with("user.toml line 11 (id = \"bad\"): unknown kind \"disk_on_fire\""),
        "{e}"
    );
}

#[test]
fn an_example_that_does_not_match_is_reported_with_its_line() {
    let e = error_of(&format!(
        "{GOOD}\n[[signature]]\nid = \"bad\"\nkind = \"oom_killed\"\nstrength = 5\npattern = 'OOM'\nexample = \"out of memory\"\n"
    ));
    assert!(
        e.starts_with("user.toml line 14 (id = \"bad\"): the example does not match"),
        "{e}"
    );
}

#[test]
fn a_duplicate_id_is_reported_with_its_line() {
    let e = error_of(&format!("{GOOD}{GOOD}"));
    assert!(
        e.starts_with(
            "user.toml line 10 (id = \"ok\"): duplicate id (first defined in user.toml line 3)"
        ),
        "{e}"
    );
}

#[test]
fn bad_toml_is_reported_with_its_line() {
    let e = error_of(&format!("{GOOD}\n[[signature]]\nid = \"bad\nkind = 3\n"));
    assert!(e.starts_with("user.toml line 10:"), "{e}");
    let e = error_of(&format!(
        "{GOOD}\n[[signature]]\nid = \"bad\"\nkind = \"oom_killed\"\nstrength = 5\npattern = 'x'\nexample = \"x\"\nsevirity = 3\n"
    ));
    assert!(e.starts_with("user.toml line 15:"), "{e}");
    assert!(e.contains("sevirity"), "{e}");
    let e = error_of(&format!(
        "{GOOD}\n[[signature]]\nid = \"bad\"\nkind = \"oom_killed\"\nstrength = 5\nfields = [\"logs\"]\npattern = 'x'\nexample = \"x\"\n"
    ));
    assert!(e.starts_with("user.toml line 13:"), "{e}");
}

#[test]
fn strength_and_peer_group_are_checked() {
    let e = error_of(
        "[[signature]]\nid = \"s\"\nkind = \"oom_killed\"\nstrength = 6\npattern = 'x'\nexample = \"x\"\n",
    );
    assert!(
        e.starts_with("user.toml line 4 (id = \"s\"): strength 6 is out of range"),
        "{e}"
    );
    let e = error_of(
        "[[signature]]\nid = \"p\"\nkind = \"dependency_unreachable\"\nstrength = 4\nculprit = \"peer\"\npattern = 'refused'\nexample = \"refused\"\n",
    );
    assert!(
        e.starts_with("user.toml line 6 (id = \"p\"): culprit = \"peer\" but the pattern has no"),
        "{e}"
    );
}

#[test]
fn load_reads_a_file_and_names_it_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mine.toml");
    std::fs::write(&path, GOOD).unwrap();
    assert_eq!(Catalogue::load(&path).unwrap().len(), 1);
    let missing = dir.path().join("missing.toml");
    let e = Catalogue::load(&missing).unwrap_err().to_string();
    assert!(e.contains("missing.toml"), "{e}");
}

#[test]
fn required_literals_are_necessary_conditions() {
    let r = |p: &str| required_literals(p);
    let v = |xs: &[&str]| Some(xs.iter().map(|x| x.to_string()).collect::<Vec<_>>());
    assert_eq!(
        r(r"HikariPool-\d+ - Connection is not available, request timed out after \d+ms"),
        v(&[" - connection is not available, request timed out after "])
    );
    assert_eq!(r("^OOMKilled$"), v(&["oomkilled"]));
    assert_eq!(r("Back-off (?:restarting|pulling)"), v(&["back-off "]));
    assert_eq!(
        r(r"deadlock detected|Lock wait timeout"),
        v(&["deadlock detected", "lock wait timeout"])
    );
    // Optional characters are dropped, repeated ones end the run.
    assert_eq!(r("colou?r scheme"), v(&["r scheme"]));
    assert_eq!(r("abcx*defg"), v(&["defg"]));
    assert_eq!(r("abcd+efg"), v(&["abcd"]));
    assert_eq!(r(r"ab{0,3}cdef"), v(&["cdef"]));
    assert_eq!(r(r"ab{2}cdef"), v(&["cdef"]));
    // Escaped punctuation is literal; classes and groups end a run.
    assert_eq!(
        r(r"java\.lang\.OutOfMemoryError: [A-Z]"),
        v(&["java.lang.outofmemoryerror: "])
    );
    assert_eq!(
        r(r"\[Errno 111\] Connection refused"),
        v(&["[errno 111] connection refused"])
    );
    assert_eq!(r(r"x[]a]yzw"), v(&["yzw"]));
    // An alternative without a literal, or syntax this reading does not
    // follow, leaves the signature unfiltered.
    assert_eq!(r("abcdef|x"), None);
    assert_eq!(r(r"\d+"), None);
    assert_eq!(r(r"(?x) a b c d"), None);
    assert_eq!(r(r"\x41BCD"), None);
    assert_eq!(r(r"\p{Greek}+abc"), None);
}

#[test]
fn every_kind_is_known_to_the_vocabulary() {
    for s in builtin().signatures() {
        assert!(KINDS.contains(&s.kind.as_str()), "{}", s.id);
    }
}

/// A JSON log carries the error's text with its quotes escaped; the
/// signatures read the text as the software printed it.
#[test]
fn escaped_json_text_matches_like_the_printed_text() {
    let pino = r#"{"level":50,"msg":"start print failed","err":{"message":"13 INTERNAL: create slicer job: jobs.batch is forbidden: User \"system:serviceaccount:farm:farm-dispatcher\" cannot create resource \"jobs\" in API group \"batch\""}}"#;
    let hit = builtin().best(Field::Log, pino).expect("a hit");
    assert_eq!(hit.signature.id, "k8s-rbac-forbidden-serviceaccount");
    assert_eq!(
        hit.peer.as_deref(),
        Some("system:serviceaccount:farm:farm-dispatcher")
    );
    // A person refused is no workload: the emitter's own signature.
    let human = r#"pods is forbidden: User "jane@example.com" cannot list resource "pods" in API group "" in the namespace "shop""#;
    assert_eq!(
        builtin()
            .best(Field::Log, human)
            .map(|h| h.signature.id.as_str()),
        Some("k8s-rbac-forbidden")
    );
    assert_eq!(
        unescaped(r#"a \"b\" \\ c\nd C:\Users"#),
        "a \"b\" \\ c d C:\\Users"
    );
    assert!(matches!(unescaped("plain"), std::borrow::Cow::Borrowed(_)));
}

/// An environment variable's name is upper case: a snake_case word that is
/// missing is data (`daily_load missing for 2026-07-13`), not a setting.
#[test]
fn a_missing_row_is_no_missing_setting() {
    let kind = |line: &str| {
        builtin()
            .best(Field::Log, line)
            .map(|h| h.signature.kind.clone())
    };
    assert_eq!(
        kind("FATAL: DATABASE_URL is not set"),
        Some("missing_config".to_string())
    );
    assert_ne!(
        kind("daily_load missing for 2026-07-13, computing from activity_samples"),
        Some("missing_config".to_string())
    );
}
