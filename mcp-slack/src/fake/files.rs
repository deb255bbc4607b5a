//! Files, the way Slack takes them since `files.upload` was retired
//! (api.slack.com/messaging/files#upload): three steps.
//!
//! 1. `files.getUploadURLExternal` with `filename` and `length` (bytes;
//!    both required, else `invalid_arguments`) and an optional `alt_txt`
//!    answers an `upload_url` and a `file_id`;
//! 2. the bytes are POSTed to that URL (no token: the URL is the
//!    credential), answered `200 OK - <length>` in plain text;
//! 3. `files.completeUploadExternal` with `files` (a JSON array of
//!    `{id, title}`), and `channel_id` (plus `thread_ts`, `initial_comment`)
//!    to share them, answers the files. A file never uploaded, or completed
//!    twice, is `file_not_found`; sharing needs the bot in the channel
//!    (`not_in_channel`) and an existing thread (`invalid_thread_ts`).
//!
//! Shared files appear as one message in the channel or thread with a
//! `files` array, as Slack shows them in `conversations.history`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::http::{arg_json_array, arg_str, arg_usize};
use super::world::{World, insert_message};
use super::{BOT_ID, BOT_USER_ID, FakeSlack, TEAM_ID};

/// A file the fake was told of, uploaded or not yet.
#[derive(Debug, Clone, Default)]
pub(super) struct FakeFile {
    pub(super) name: String,
    pub(super) length: usize,
    pub(super) alt_txt: Option<String>,
    pub(super) title: Option<String>,
    /// The bytes, once POSTed to the upload URL.
    pub(super) bytes: Option<Vec<u8>>,
    /// Whether `files.completeUploadExternal` took it.
    pub(super) completed: bool,
}

/// A file as a test reads it back ([`FakeSlack::file`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadedFile {
    /// The file name given to `files.getUploadURLExternal`.
    pub name: String,
    /// The title given at completion, if any.
    pub title: Option<String>,
    /// The alternative text, if any.
    pub alt_txt: Option<String>,
    /// What was uploaded.
    pub bytes: Vec<u8>,
}

/// `files.getUploadURLExternal`.
pub(super) fn get_upload_url(
    w: &mut World,
    args: &Map<String, Value>,
) -> Result<Value, &'static str> {
    let (Some(name), Some(length)) = (arg_str(args, "filename"), arg_usize(args, "length")) else {
        return Err("invalid_arguments");
    };
    w.next_file += 1;
    let id = format!("F0FAKE{:05}", w.next_file);
    w.files.insert(
        id.clone(),
        FakeFile {
            name: name.to_string(),
            length,
            alt_txt: arg_str(args, "alt_txt").map(str::to_string),
            ..FakeFile::default()
        },
    );
    Ok(json!({
        "upload_url": format!("http://{}/upload/v1/{id}", w.addr),
        "file_id": id,
    }))
}

/// `POST /upload/v1/{file_id}`: the bytes of a file.
pub(super) async fn upload(
    State(fake): State<FakeSlack>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let mut w = fake.world();
    let Some(file) = w.files.get_mut(&id).filter(|f| !f.completed) else {
        return (StatusCode::NOT_FOUND, "Not Found").into_response();
    };
    file.bytes = Some(body.to_vec());
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("OK - {}", body.len()),
    )
        .into_response()
}

/// `files.completeUploadExternal`.
pub(super) fn complete_upload(
    w: &mut World,
    args: &Map<String, Value>,
) -> Result<Value, &'static str> {
    let files = arg_json_array(args, "files")
        .map_err(|()| "invalid_arguments")?
        .filter(|f| !f.is_empty())
        .ok_or("invalid_arguments")?;
    let mut taken = Vec::new();
    for f in &files {
        let id = f
            .get("id")
            .and_then(Value::as_str)
            .ok_or("invalid_arguments")?;
        let known = w
            .files
            .get(id)
            .is_some_and(|x| x.bytes.is_some() && !x.completed);
        if !known {
            return Err("file_not_found");
        }
        taken.push((
            id.to_string(),
            f.get("title").and_then(Value::as_str).map(str::to_string),
        ));
    }
    let channel = match arg_str(args, "channel_id") {
        None => None,
        Some(c) => {
            let c = w.channel(c).ok_or("channel_not_found")?;
            if !c.is_member {
                return Err("not_in_channel");
            }
            Some(c.id.clone())
        }
    };
    let thread_ts = arg_str(args, "thread_ts").map(str::to_string);
    if let (Some(c), Some(t)) = (&channel, &thread_ts)
        && !w.messages.get(c).is_some_and(|m| m.contains_key(t))
    {
        return Err("invalid_thread_ts");
    }
    let mut out = Vec::new();
    for (id, title) in taken {
        if let Some(f) = w.files.get_mut(&id) {
            f.completed = true;
            f.title = title.or_else(|| Some(f.name.clone()));
            out.push(file_json(&id, f));
        }
    }
    if let Some(c) = channel {
        let ts = w.new_ts();
        let msg = json!({
            "type": "message", "subtype": "file_share", "ts": ts,
            "text": arg_str(args, "initial_comment").unwrap_or_default(),
            "user": BOT_USER_ID, "bot_id": BOT_ID, "team": TEAM_ID, "files": out,
            "upload": true,
        });
        insert_message(w, &c, msg, thread_ts.as_deref(), false);
    }
    Ok(json!({"files": out}))
}

fn file_json(id: &str, f: &FakeFile) -> Value {
    let mimetype = if f.name.ends_with(".png") {
        "image/png"
    } else {
        "application/octet-stream"
    };
    json!({
        "id": id, "name": f.name, "title": f.title, "mimetype": mimetype,
        "filetype": f.name.rsplit('.').next().unwrap_or("binary"),
        "size": f.bytes.as_ref().map_or(f.length, Vec::len),
        "alt_txt": f.alt_txt, "user": BOT_USER_ID,
    })
}

impl FakeSlack {
    /// A file uploaded and completed, by id.
    pub fn file(&self, id: &str) -> Option<UploadedFile> {
        let w = self.world();
        let f = w.files.get(id).filter(|f| f.completed)?;
        Some(UploadedFile {
            name: f.name.clone(),
            title: f.title.clone(),
            alt_txt: f.alt_txt.clone(),
            bytes: f.bytes.clone()?,
        })
    }
}
