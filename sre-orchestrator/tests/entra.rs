//! Entra ID tokens (workload identity, managed identity, Azure CLI) against
//! **fakes** on 127.0.0.1, and the LLM client using them against the fake
//! Azure OpenAI server.
//!
//! The fake token endpoints follow the Microsoft identity platform's public
//! documentation: the v2 token endpoint's client-credentials grant with a
//! federated client assertion (`POST /{tenant}/oauth2/v2.0/token`, form
//! fields, `{"token_type", "expires_in", "access_token"}` or `{"error",
//! "error_description"}`), the instance metadata service's managed-identity
//! endpoint (`GET /metadata/identity/oauth2/token`, `Metadata: true`,
//! numbers sent as strings), the App Service identity endpoint
//! (`X-IDENTITY-HEADER`, `expires_on` in Unix seconds), and the Azure CLI's
//! `az account get-access-token --output json` (a shell script). Nothing
//! here contacts any other address: every endpoint, the metadata service's
//! included, is pointed at loopback.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support_entra;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sre_orchestrator::fake_llm::{FakeLlm, Reply};
use sre_orchestrator::llm::{
    EntraCredential, EntraError, EntraSettings, EntraSource, LlmError, Message,
};
use support_entra::*;

#[tokio::test]
async fn workload_identity_sends_the_documented_form_and_caches_the_token() {
    let fake = FakeEntra::start(3600).await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), &format!("{ASSERTION}\n"));
    let credential = EntraCredential::from_settings(
        &settings(EntraSource::Workload),
        env_of(&workload_env(&fake, &file)),
    )
    .unwrap();
    assert_eq!(credential.source_name(), "workload identity");

    let first = credential.token().await.unwrap();
    let second = credential.token().await.unwrap();
    assert_eq!(first, "entra-token-1");
    assert_eq!(second, first, "a token valid for an hour is cached");
    assert_eq!(credential.fetches(), 1);

    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, format!("/{TENANT}/oauth2/v2.0/token"));
    let expected: BTreeMap<String, String> = [
        ("client_id", CLIENT),
        ("grant_type", "client_credentials"),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        ),
        ("client_assertion", ASSERTION),
        ("scope", SCOPE),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(seen[0].fields, expected, "exactly the documented fields");
    assert!(
        seen[0].headers["content-type"].starts_with("application/x-www-form-urlencoded"),
        "{:?}",
        seen[0].headers
    );
}

#[tokio::test]
async fn a_token_near_expiry_is_refreshed_with_the_rotated_assertion() {
    // A 2 s token is refreshed at half its life (the 5 min margin is longer).
    let fake = FakeEntra::start(2).await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), ASSERTION);
    let credential = EntraCredential::from_settings(
        &settings(EntraSource::Workload),
        env_of(&workload_env(&fake, &file)),
    )
    .unwrap();
    assert_eq!(credential.token().await.unwrap(), "entra-token-1");
    assert_eq!(credential.token().await.unwrap(), "entra-token-1");
    // kubelet rotates the projected token; the next exchange must read it again.
    token_file(dir.path(), "eyJrotated.projected-sa-token.sig");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(credential.token().await.unwrap(), "entra-token-2");
    assert_eq!(credential.fetches(), 2);
    let seen = fake.seen();
    assert_eq!(
        seen[1].fields["client_assertion"],
        "eyJrotated.projected-sa-token.sig"
    );
}

#[tokio::test]
async fn a_failed_refresh_keeps_a_token_that_is_still_valid() {
    // Due for refresh at 2 s (half its life), still usable until 3 s.
    let fake = FakeEntra::start(4).await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), ASSERTION);
    let credential = EntraCredential::from_settings(
        &settings(EntraSource::Workload),
        env_of(&workload_env(&fake, &file)),
    )
    .unwrap();
    assert_eq!(credential.token().await.unwrap(), "entra-token-1");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    fake.fail_next(&[400]);
    assert_eq!(
        credential.token().await.unwrap(),
        "entra-token-1",
        "the refresh failed; the token has a second left"
    );
    assert_eq!(credential.fetches(), 2);
    assert_eq!(credential.token().await.unwrap(), "entra-token-2");
    // Another request already replaced a rejected token: no new fetch.
    assert_eq!(
        credential.refresh_rejected("entra-token-1").await.unwrap(),
        "entra-token-2"
    );
    assert_eq!(credential.fetches(), 3);
}

#[tokio::test]
async fn concurrent_requests_share_one_refresh() {
    let fake = FakeEntra::start(3600).await;
    fake.set_delay(Duration::from_millis(300));
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), ASSERTION);
    let credential = Arc::new(
        EntraCredential::from_settings(
            &settings(EntraSource::Workload),
            env_of(&workload_env(&fake, &file)),
        )
        .unwrap(),
    );
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let c = Arc::clone(&credential);
            tokio::spawn(async move { c.token().await.unwrap() })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap(), "entra-token-1");
    }
    assert_eq!(fake.issued(), 1, "one fetch for eight concurrent requests");
    assert_eq!(fake.seen().len(), 1);
}

#[tokio::test]
async fn transient_token_endpoint_errors_are_retried() {
    let fake = FakeEntra::start(3600).await;
    fake.fail_next(&[503, 429]);
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), ASSERTION);
    let credential = EntraCredential::from_settings(
        &settings(EntraSource::Workload),
        env_of(&workload_env(&fake, &file)),
    )
    .unwrap();
    assert_eq!(credential.token().await.unwrap(), "entra-token-1");
    assert_eq!(fake.seen().len(), 3);
}

#[tokio::test]
async fn the_llm_request_carries_the_entra_token_and_no_key() {
    let entra = FakeEntra::start(3600).await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), ASSERTION);
    let credential = Arc::new(
        EntraCredential::from_settings(
            &settings(EntraSource::Workload),
            env_of(&workload_env(&entra, &file)),
        )
        .unwrap(),
    );
    let llm = FakeLlm::start(vec![Reply::Text("one".into()), Reply::Text("two".into())])
        .await
        .unwrap();
    let client = azure_llm(&llm, Arc::clone(&credential));
    client.chat(&[Message::user("a")], &[]).await.unwrap();
    client.chat(&[Message::user("b")], &[]).await.unwrap();
    let received = llm.received();
    assert_eq!(received.len(), 2);
    for r in &received {
        assert_eq!(r.path, "/openai/v1/chat/completions");
        assert_eq!(r.bearer.as_deref(), Some("entra-token-1"));
        assert_eq!(r.api_key, None);
    }
    assert_eq!(
        credential.fetches(),
        1,
        "the second request used the cached token"
    );
}

#[tokio::test]
async fn a_401_gets_one_fresh_token_and_one_more_try() {
    let entra = FakeEntra::start(3600).await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), ASSERTION);
    let credential = Arc::new(
        EntraCredential::from_settings(
            &settings(EntraSource::Workload),
            env_of(&workload_env(&entra, &file)),
        )
        .unwrap(),
    );
    let llm = FakeLlm::start(vec![
        Reply::Error {
            status: 401,
            retry_after: None,
        },
        Reply::Text("ok".into()),
    ])
    .await
    .unwrap();
    let client = azure_llm(&llm, Arc::clone(&credential));
    let answer = client.chat(&[Message::user("a")], &[]).await.unwrap();
    assert_eq!(answer.message.content.as_deref(), Some("ok"));
    let bearers: Vec<_> = llm.received().iter().map(|r| r.bearer.clone()).collect();
    assert_eq!(
        bearers,
        vec![Some("entra-token-1".into()), Some("entra-token-2".into())]
    );
    assert_eq!(credential.fetches(), 2);
}

#[tokio::test]
async fn a_second_401_is_an_error_after_exactly_one_refresh() {
    let entra = FakeEntra::start(3600).await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), ASSERTION);
    let credential = Arc::new(
        EntraCredential::from_settings(
            &settings(EntraSource::Workload),
            env_of(&workload_env(&entra, &file)),
        )
        .unwrap(),
    );
    let denied = Reply::Error {
        status: 401,
        retry_after: None,
    };
    let llm = FakeLlm::start(vec![denied.clone(), denied.clone(), denied])
        .await
        .unwrap();
    let client = azure_llm(&llm, Arc::clone(&credential));
    let err = client.chat(&[Message::user("a")], &[]).await.unwrap_err();
    assert!(matches!(err, LlmError::Status { status: 401, .. }), "{err}");
    assert_eq!(llm.received().len(), 2, "one retry, not a loop");
    assert_eq!(credential.fetches(), 2);
}

#[tokio::test]
async fn without_a_token_the_llm_call_fails_clearly_and_sends_nothing() {
    let llm = FakeLlm::start(vec![Reply::Text("never".into())])
        .await
        .unwrap();
    let credential = Arc::new(
        EntraCredential::from_settings(
            &settings(EntraSource::Workload),
            env_of(&[("AZURE_TENANT_ID", TENANT.into())]),
        )
        .unwrap(),
    );
    let client = azure_llm(&llm, credential);
    let err = client.chat(&[Message::user("a")], &[]).await.unwrap_err();
    assert!(matches!(err, LlmError::Auth(_)), "{err:?}");
    assert_eq!(
        err.to_string(),
        "no Entra ID token for the LLM endpoint: workload identity: AZURE_FEDERATED_TOKEN_FILE is not set"
    );
    assert!(llm.received().is_empty());
}

#[tokio::test]
async fn workload_identity_errors_name_what_is_missing_or_refused() {
    let fake = FakeEntra::start(3600).await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), ASSERTION);
    let error_with = |vars: Vec<(&'static str, String)>| {
        let credential =
            EntraCredential::from_settings(&settings(EntraSource::Workload), env_of(&vars))
                .unwrap();
        async move { credential.token().await.unwrap_err().to_string() }
    };
    let mut vars = workload_env(&fake, &file);
    vars.retain(|(k, _)| *k != "AZURE_TENANT_ID");
    assert_eq!(
        error_with(vars).await,
        "workload identity: AZURE_TENANT_ID is not set"
    );
    let mut vars = workload_env(&fake, &file);
    vars.retain(|(k, _)| *k != "AZURE_CLIENT_ID");
    assert_eq!(
        error_with(vars).await,
        "workload identity: AZURE_CLIENT_ID is not set"
    );
    let missing = dir.path().join("gone").display().to_string();
    let e = error_with(workload_env(&fake, &missing)).await;
    assert!(
        e.starts_with(&format!(
            "workload identity: cannot read AZURE_FEDERATED_TOKEN_FILE {missing}"
        )),
        "{e}"
    );
    let mut vars = workload_env(&fake, &file);
    vars.retain(|(k, _)| *k != "AZURE_CLIENT_ID");
    vars.push(("AZURE_CLIENT_ID", "someone-else".into()));
    let e = error_with(vars).await;
    assert!(
        e.starts_with("workload identity: ")
            && e.contains("answered 401: invalid_client: AADSTS700211")
            && !e.contains("Trace ID"),
        "{e}"
    );
    let mut vars = workload_env(&fake, &file);
    vars[0].1 = closed_port().await;
    let e = error_with(vars).await;
    assert!(e.contains("unreachable"), "{e}");
}

#[tokio::test]
async fn managed_identity_asks_the_metadata_service_as_documented() {
    let fake = FakeEntra::start(3600).await;
    let credential = EntraCredential::from_settings(
        &EntraSettings {
            source: EntraSource::Managed,
            imds_endpoint: Some(fake.url()),
            client_id: Some(CLIENT.into()),
            ..EntraSettings::default()
        },
        env_of(&[]),
    )
    .unwrap();
    assert_eq!(
        credential.source_name(),
        format!("managed identity (IMDS) at {}", fake.url())
    );
    assert_eq!(credential.token().await.unwrap(), "entra-token-1");
    assert_eq!(credential.token().await.unwrap(), "entra-token-1");
    let seen = fake.seen();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].path, "/metadata/identity/oauth2/token");
    assert_eq!(seen[0].headers["metadata"], "true");
    let query: Vec<(&str, &str)> = seen[0]
        .fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        query,
        vec![
            ("api-version", "2018-02-01"),
            ("client_id", CLIENT),
            ("resource", RESOURCE)
        ]
    );

    // An identity the VM does not have.
    let other = EntraCredential::from_settings(
        &EntraSettings {
            source: EntraSource::Managed,
            imds_endpoint: Some(fake.url()),
            client_id: Some("not-assigned".into()),
            ..EntraSettings::default()
        },
        env_of(&[]),
    )
    .unwrap();
    let e = other.token().await.unwrap_err().to_string();
    assert!(
        e.starts_with("managed identity (IMDS): ")
            && e.contains("400: invalid_request: Identity not found"),
        "{e}"
    );
}

#[tokio::test]
async fn managed_identity_uses_the_app_service_endpoint_when_it_is_set() {
    let fake = FakeEntra::start(3600).await;
    let unused = closed_port().await;
    let credential = EntraCredential::from_settings(
        &EntraSettings {
            source: EntraSource::Managed,
            imds_endpoint: Some(unused),
            ..EntraSettings::default()
        },
        env_of(&[
            ("IDENTITY_ENDPOINT", format!("{}/msi/token", fake.url())),
            ("IDENTITY_HEADER", "identity-secret".into()),
        ]),
    )
    .unwrap();
    assert_eq!(credential.token().await.unwrap(), "entra-token-1");
    let seen = fake.seen();
    assert_eq!(seen[0].path, "/msi/token");
    assert_eq!(seen[0].headers["x-identity-header"], "identity-secret");
    assert_eq!(seen[0].fields["api-version"], "2019-08-01");
    assert_eq!(seen[0].fields["resource"], RESOURCE);
    assert!(!seen[0].fields.contains_key("client_id"));
}

/// A fake `az` that records its arguments and prints what `script` says.
#[cfg(unix)]
fn fake_az(dir: &Path, script: &str) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("az");
    let args = dir.join("az-args");
    std::fs::write(
        &path,
        format!("#!/bin/sh\necho \"$@\" >> '{}'\n{script}\n", args.display()),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

#[cfg(unix)]
#[tokio::test]
async fn the_azure_cli_is_asked_for_a_cognitive_services_token() {
    let dir = tempfile::tempdir().unwrap();
    let expires_on = jiff::Timestamp::now().as_second() + 3000;
    let local = jiff::Zoned::now()
        .checked_add(jiff::SignedDuration::from_secs(3000))
        .unwrap()
        .datetime()
        .strftime("%Y-%m-%d %H:%M:%S.%f")
        .to_string();
    fake_az(
        dir.path(),
        &format!(
            "cat <<'EOF'\n{{\n  \"accessToken\": \"cli-token\",\n  \"expiresOn\": \"{local}\",\n  \"expires_on\": {expires_on},\n  \"subscription\": \"sub\",\n  \"tenant\": \"{TENANT}\",\n  \"tokenType\": \"Bearer\"\n}}\nEOF"
        ),
    );
    let imds = FakeEntra::start(3600).await;
    // `auto` with `az` on PATH: the CLI, and the metadata service never asked.
    let credential = EntraCredential::from_settings(
        &EntraSettings {
            source: EntraSource::Auto,
            imds_endpoint: Some(imds.url()),
            ..EntraSettings::default()
        },
        env_of(&[("PATH", dir.path().display().to_string())]),
    )
    .unwrap();
    assert_eq!(credential.token().await.unwrap(), "cli-token");
    assert_eq!(credential.token().await.unwrap(), "cli-token");
    assert_eq!(credential.source_name(), "auto: Azure CLI");
    assert_eq!(credential.fetches(), 1);
    assert!(imds.seen().is_empty(), "no metadata-service request");
    let args = std::fs::read_to_string(dir.path().join("az-args")).unwrap();
    assert_eq!(
        args.trim(),
        "account get-access-token --resource https://cognitiveservices.azure.com --output json"
    );

    // Older CLIs print only the local `expiresOn`.
    let old = tempfile::tempdir().unwrap();
    fake_az(
        old.path(),
        &format!("echo '{{\"accessToken\": \"old-cli-token\", \"expiresOn\": \"{local}\"}}'"),
    );
    let credential = EntraCredential::from_settings(
        &EntraSettings {
            source: EntraSource::Cli,
            az_program: Some(old.path().join("az")),
            ..EntraSettings::default()
        },
        env_of(&[]),
    )
    .unwrap();
    assert_eq!(credential.token().await.unwrap(), "old-cli-token");
}

#[cfg(unix)]
#[tokio::test]
async fn azure_cli_errors_are_reported_with_its_message() {
    let dir = tempfile::tempdir().unwrap();
    fake_az(
        dir.path(),
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1",
    );
    let credential = EntraCredential::from_settings(
        &settings(EntraSource::Cli),
        env_of(&[("PATH", dir.path().display().to_string())]),
    )
    .unwrap();
    let e = credential.token().await.unwrap_err().to_string();
    assert!(
        e.starts_with("Azure CLI: `az account get-access-token` failed (exit status: 1): ERROR: Please run 'az login' to setup account."),
        "{e}"
    );
    let nowhere = EntraCredential::from_settings(
        &settings(EntraSource::Cli),
        env_of(&[("PATH", "/nonexistent".into())]),
    )
    .unwrap();
    let e = nowhere.token().await.unwrap_err();
    assert!(matches!(e, EntraError::NotConfigured { .. }));
    assert_eq!(
        e.to_string(),
        "Azure CLI: `az` is not on PATH (install the Azure CLI and run `az login`)"
    );
}

#[tokio::test]
async fn auto_prefers_workload_identity_and_keeps_it() {
    let fake = FakeEntra::start(3600).await;
    let dir = tempfile::tempdir().unwrap();
    let file = token_file(dir.path(), ASSERTION);
    let credential = EntraCredential::from_settings(
        &EntraSettings {
            source: EntraSource::Auto,
            imds_endpoint: Some(fake.url()),
            ..EntraSettings::default()
        },
        env_of(&workload_env(&fake, &file)),
    )
    .unwrap();
    assert_eq!(credential.token().await.unwrap(), "entra-token-1");
    assert_eq!(credential.source_name(), "auto: workload identity");
    let paths: Vec<_> = fake.seen().into_iter().map(|s| s.path).collect();
    assert_eq!(paths, vec![format!("/{TENANT}/oauth2/v2.0/token")]);
}

#[tokio::test]
async fn auto_with_nothing_available_says_what_each_source_lacked() {
    let imds = closed_port().await;
    let credential = EntraCredential::from_settings(
        &EntraSettings {
            source: EntraSource::Auto,
            imds_endpoint: Some(imds.clone()),
            ..EntraSettings::default()
        },
        env_of(&[("PATH", "/nonexistent".into())]),
    )
    .unwrap();
    let e = credential.token().await.unwrap_err();
    assert!(matches!(e, EntraError::NoneWorked { .. }), "{e:?}");
    let text = e.to_string();
    for part in [
        "no Entra ID source gave a token: ",
        "workload identity: AZURE_FEDERATED_TOKEN_FILE is not set; ",
        "managed identity (App Service): IDENTITY_ENDPOINT is not set; ",
        "Azure CLI: `az` is not on PATH; ",
        &format!("managed identity (IMDS): {imds}/metadata/identity/oauth2/token unreachable"),
    ] {
        assert!(text.contains(part), "{part:?} not in {text}");
    }
}

/// With the token unobtainable, an investigation still ends in the
/// deterministic RCA and says why the LLM had nothing to add.
#[tokio::test]
async fn an_investigation_without_a_token_keeps_its_deterministic_rca() {
    use sre_orchestrator::engine::Quiet;
    use sre_orchestrator::investigate::{LlmPhase, Options, investigate_with};
    use sre_orchestrator::rca::Mode;
    use sre_orchestrator::registry::Registry;
    use sre_orchestrator::transcript::ChatModel;

    let llm = FakeLlm::start(vec![]).await.unwrap();
    let credential = Arc::new(
        EntraCredential::from_settings(&settings(EntraSource::Workload), env_of(&[])).unwrap(),
    );
    let client = azure_llm(&llm, credential);
    let body = json!({
        "version": "4", "status": "firing", "receiver": "sre",
        "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "KubePodCrashLooping", "namespace": "shop", "service": "cart", "severity": "critical"},
            "annotations": {"summary": "cart pods restarting"},
            "startsAt": "2025-06-01T11:50:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "", "fingerprint": "abc"
        }]
    });
    let alert = sre_orchestrator::alert::parse_webhook(&body.to_string())
        .unwrap()
        .remove(0);
    let registry = Registry::new(Duration::from_secs(5));
    let out = investigate_with(
        &alert,
        &registry,
        Some(&client as &dyn ChatModel),
        &Options {
            now: "2025-06-01T12:00:00Z".parse().unwrap(),
            default_namespace: Some("shop".into()),
            max_steps: 4,
            context: None,
            ..Options::default()
        },
        &LlmPhase {
            deadline: Duration::from_secs(10),
        },
        &Quiet,
    )
    .await;
    assert_eq!(out.rca.mode, Mode::Deterministic);
    let gaps: Vec<_> = out
        .rca
        .data_gaps
        .iter()
        .filter(|g| g.source == "llm")
        .map(|g| g.reason.clone())
        .collect();
    assert!(
        gaps.iter()
            .any(|g| g.contains("workload identity: AZURE_FEDERATED_TOKEN_FILE is not set")),
        "{gaps:?}"
    );
    assert!(llm.received().is_empty());
}
