//! Proxies, through the server binary (the proxy comes from its environment): `HTTPS_PROXY`
//! is used, and `NO_PROXY` covering the API server bypasses it.
//!
//! The API server is the fixture API server on 127.0.0.1 (see `tests/common`); the proxy is a
//! small CONNECT proxy in this file that only tunnels to loopback and records every request.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use mcp_kubernetes::snapshot::{FixtureServer, Snapshot};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A CONNECT proxy on 127.0.0.1 that tunnels to 127.0.0.1 only; returns its port and the
/// CONNECT targets it was asked for.
async fn connect_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if client.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).to_string();
                let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
                log.lock().unwrap().push(target.clone());
                let port = target
                    .rsplit_once(':')
                    .and_then(|(_, p)| p.parse::<u16>().ok());
                let loopback = target.starts_with("127.0.0.1:") || target.starts_with("localhost:");
                let (Some(port), true) = (port, loopback) else {
                    let _ = client.write_all(b"HTTP/1.1 403 Forbidden\r\n\r\n").await;
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await
                else {
                    let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\n\r\n").await;
                    return;
                };
                let _ = client
                    .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                    .await;
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (port, seen)
}

fn kubeconfig(dir: &std::path::Path, server: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: proxied\nclusters:\n- name: c\n  cluster:\n    server: {server}\ncontexts:\n- name: proxied\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n    token: test-token\n"
        ),
    )
    .unwrap();
    path
}

/// Calls `namespaces` through the server binary over stdio with `env`; returns the result text.
fn call_namespaces(kubeconfig: &std::path::Path, env: &[(&str, String)]) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mcp-kubernetes"));
    cmd.arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--timeout-secs", "5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    for var in [
        "HTTPS_PROXY",
        "https_proxy",
        "HTTP_PROXY",
        "http_proxy",
        "NO_PROXY",
        "no_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    for msg in [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"proxy-test","version":"0"}}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"namespaces","arguments":{}}}"#,
    ] {
        writeln!(stdin, "{msg}").unwrap();
    }
    let reader = BufReader::new(child.stdout.take().unwrap());
    let mut text = String::new();
    for line in reader.lines() {
        let v: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
        if v["id"] == 2 {
            text = v["result"]["content"][0]["text"]
                .as_str()
                .unwrap_or("")
                .to_string();
            break;
        }
    }
    drop(stdin);
    let _ = child.kill();
    let _ = child.wait();
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_proxy_is_used_and_no_proxy_covering_the_api_server_bypasses_it() {
    let snap = Snapshot::load(&common::shop_dir()).unwrap();
    let server = FixtureServer::start(snap).await.unwrap();
    let api_port = server.addr().port();
    let dir = tempfile::tempdir().unwrap();
    let (proxy_port, seen) = connect_proxy().await;
    let closed_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let kc_ip = kubeconfig(dir.path(), &format!("http://127.0.0.1:{api_port}"));

    // 1. HTTPS_PROXY alone: the call goes through the proxy (kube needs its http-proxy
    //    feature for that; without it every call fails before connecting).
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let kc = kc_ip.clone();
    let text = tokio::task::spawn_blocking(move || call_namespaces(&kc, &[("HTTPS_PROXY", proxy)]))
        .await
        .unwrap();
    assert!(text.contains("shop"), "via the proxy: {text}");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|t| t == &format!("127.0.0.1:{api_port}")),
        "the proxy saw no CONNECT to the API server: {:?}",
        seen.lock().unwrap()
    );

    // 2. A proxy that cannot be reached, and NO_PROXY covering the API server (not the
    //    proxy): the call goes direct and succeeds.
    let kc = kc_ip.clone();
    let text = tokio::task::spawn_blocking(move || {
        call_namespaces(
            &kc,
            &[
                ("HTTPS_PROXY", format!("http://localhost:{closed_port}")),
                ("NO_PROXY", "127.0.0.1".to_string()),
            ],
        )
    })
    .await
    .unwrap();
    assert!(text.contains("shop"), "NO_PROXY=127.0.0.1 bypasses: {text}");

    // 3. NO_PROXY naming the API server's host name: direct, the proxy sees nothing new.
    let before = seen.lock().unwrap().len();
    let kc_name = {
        let d = dir.path().join("by-name");
        std::fs::create_dir_all(&d).unwrap();
        kubeconfig(&d, &format!("http://localhost:{api_port}"))
    };
    let proxy = format!("http://127.0.0.1:{proxy_port}");
    let text = tokio::task::spawn_blocking(move || {
        call_namespaces(
            &kc_name,
            &[
                ("HTTPS_PROXY", proxy),
                ("no_proxy", "example.com,localhost".to_string()),
            ],
        )
    })
    .await
    .unwrap();
    assert!(text.contains("shop"), "NO_PROXY=localhost bypasses: {text}");
    assert_eq!(
        seen.lock().unwrap().len(),
        before,
        "NO_PROXY covers the API server, yet the proxy was used: {:?}",
        seen.lock().unwrap()
    );
}
