//! Snapshot folders as jails.
//!
//! Every server has an offline mode that serves a folder of recorded data
//! (`mcp-kubernetes --snapshot`, `mcp-signoz --telemetry-dir`, `mcp-mongodb
//! --snapshot`). Such a folder is often a capture someone sent: it may hold a
//! symbolic link to `/etc` or to `~/.kube`, or a link back to its own parent
//! that would make a naive walk loop for ever. Nothing outside the folder may
//! be read, and no error may print where the folder really lives (an error is
//! a tool result a model and a chat channel see).
//!
//! A [`Jail`] is opened on the folder once (its real, canonical path is the
//! root). Two ways in:
//!
//! * [`Jail::files`] lists every regular file under the root, sorted, for
//!   servers that load the whole folder at start. Symbolic links are followed
//!   only while their target stays under the root; a link that leads out is
//!   skipped and reported, never read. Each real directory is entered once, so
//!   a link to an ancestor cannot make the walk loop.
//! * [`Jail::resolve`] turns a relative path built from user input (a database
//!   and collection name) into a real path under the root, refusing anything
//!   but plain names and any link that leads out.
//!
//! Paths in messages are shown relative to the root ([`Jail::shown`]).

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// Why a path inside a jail could not be used. Messages name paths relative
/// to the jail's root only.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JailError {
    /// The folder itself cannot be opened (missing, not a directory, unreadable).
    #[error("{path}: {reason}")]
    Root {
        /// The folder as the user gave it.
        path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The relative path is not a chain of plain names (`..`, `/abs`, `C:`).
    #[error("{path}: not found: only plain names inside the snapshot are read")]
    NotPlain {
        /// The path as asked for.
        path: String,
    },
    /// The path leads outside the root, through a symbolic link.
    #[error(
        "{path}: not found: it leads outside the snapshot directory (a symbolic link?) and is not read"
    )]
    Outside {
        /// The path relative to the root.
        path: String,
    },
    /// The path exists but cannot be read.
    #[error("{path}: cannot be read ({kind})")]
    Unreadable {
        /// The path relative to the root.
        path: String,
        /// The I/O error's kind only: its text could name the real path.
        kind: std::io::ErrorKind,
    },
}

impl JailError {
    /// What is wrong, without the path (for callers whose errors carry the path
    /// in a field of their own).
    pub fn reason(&self) -> String {
        let text = self.to_string();
        let path = match self {
            JailError::Root { path, .. }
            | JailError::NotPlain { path }
            | JailError::Outside { path }
            | JailError::Unreadable { path, .. } => path,
        };
        text.strip_prefix(path.as_str())
            .and_then(|rest| rest.strip_prefix(": "))
            .unwrap_or(&text)
            .to_string()
    }
}

/// The files a walk found, and the entries it refused.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Regular files under the root (real paths), sorted by their path relative to the root.
    pub files: Vec<PathBuf>,
    /// Entries (relative to the root) that were symbolic links leading outside it,
    /// or links to a directory already walked; none of them was read.
    pub skipped: Vec<String>,
}

/// A folder whose files may be read, and nothing beyond it.
#[derive(Debug, Clone)]
pub struct Jail {
    /// The canonical root.
    root: PathBuf,
}

impl Jail {
    /// Opens the jail on `dir`, which must be a readable directory.
    pub fn open(dir: &Path) -> Result<Self, JailError> {
        let root_err = |reason: String| JailError::Root {
            path: dir.display().to_string(),
            reason,
        };
        let root = dir.canonicalize().map_err(|e| root_err(e.to_string()))?;
        if !root.is_dir() {
            return Err(root_err("not a directory".into()));
        }
        Ok(Self { root })
    }

    /// The canonical root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `path` as shown in messages: relative to the root when it is under it
    /// (through the root's real path), else its last component only.
    pub fn shown(&self, path: &Path) -> String {
        if let Ok(rel) = path.strip_prefix(&self.root) {
            return rel.display().to_string();
        }
        if path.is_relative() {
            return path.display().to_string();
        }
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// Every regular file under the root, following only the links that stay
    /// inside it (see the module docs).
    pub fn files(&self) -> Result<Listing, JailError> {
        let mut listing = Listing::default();
        let mut seen = BTreeSet::new();
        seen.insert(self.root.clone());
        self.walk(&self.root, Path::new(""), &mut seen, &mut listing)?;
        // Every file is under the root, so its real path sorts as its relative one; a
        // link to a file inside is the same file, read once.
        listing.files.sort();
        listing.files.dedup();
        Ok(listing)
    }

    fn walk(
        &self,
        real_dir: &Path,
        rel_dir: &Path,
        seen: &mut BTreeSet<PathBuf>,
        out: &mut Listing,
    ) -> Result<(), JailError> {
        let unreadable = |e: std::io::Error| JailError::Unreadable {
            path: if rel_dir.as_os_str().is_empty() {
                ".".into()
            } else {
                rel_dir.display().to_string()
            },
            kind: e.kind(),
        };
        let mut entries: Vec<_> = std::fs::read_dir(real_dir)
            .map_err(unreadable)?
            .filter_map(Result::ok)
            .map(|e| e.file_name())
            .collect();
        entries.sort();
        for name in entries {
            let rel = rel_dir.join(&name);
            // Resolve links (and the path as a whole) before deciding anything.
            let real = match real_dir.join(&name).canonicalize() {
                Ok(real) => real,
                // A dangling link, or an entry gone since the listing: nothing to read.
                Err(_) => {
                    out.skipped.push(rel.display().to_string());
                    continue;
                }
            };
            if !real.starts_with(&self.root) {
                out.skipped.push(rel.display().to_string());
                continue;
            }
            if real.is_dir() {
                if !seen.insert(real.clone()) {
                    out.skipped.push(rel.display().to_string());
                    continue;
                }
                self.walk(&real, &rel, seen, out)?;
            } else if real.is_file() {
                out.files.push(real);
            }
        }
        Ok(())
    }

    /// The real path of `rel` (plain names only) if it exists under the root;
    /// `Ok(None)` if it does not exist.
    pub fn resolve(&self, rel: &Path) -> Result<Option<PathBuf>, JailError> {
        if rel.as_os_str().is_empty()
            || rel.components().any(|c| !matches!(c, Component::Normal(_)))
        {
            return Err(JailError::NotPlain {
                path: rel.display().to_string(),
            });
        }
        let real = match self.root.join(rel).canonicalize() {
            Ok(real) => real,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(JailError::Unreadable {
                    path: rel.display().to_string(),
                    kind: e.kind(),
                });
            }
        };
        if !real.starts_with(&self.root) {
            return Err(JailError::Outside {
                path: rel.display().to_string(),
            });
        }
        Ok(Some(real))
    }

    /// Reads a file [`Jail::files`] or [`Jail::resolve`] returned, with an
    /// error that names it relative to the root.
    pub fn read_to_string(&self, path: &Path) -> Result<String, JailError> {
        std::fs::read_to_string(path).map_err(|e| JailError::Unreadable {
            path: self.shown(path),
            kind: e.kind(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree() -> (tempfile::TempDir, tempfile::TempDir) {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret.json"), "{\"kind\":\"Secret\"}").unwrap();
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("logs/ns")).unwrap();
        std::fs::write(root.path().join("pods.json"), "{}").unwrap();
        std::fs::write(root.path().join("logs/ns/a.log"), "x").unwrap();
        (root, outside)
    }

    #[cfg(unix)]
    #[test]
    fn links_out_and_loops_are_skipped_links_inside_are_followed() {
        use std::os::unix::fs::symlink;
        let (root, outside) = tree();
        let r = root.path();
        symlink(outside.path().join("secret.json"), r.join("evil.json")).unwrap();
        symlink(outside.path(), r.join("outdir")).unwrap();
        symlink(r, r.join("logs/loop")).unwrap();
        symlink(r.join("pods.json"), r.join("alias.json")).unwrap();
        symlink(r.join("missing.json"), r.join("dangling.json")).unwrap();
        let jail = Jail::open(r).unwrap();
        let listing = jail.files().unwrap();
        let shown: Vec<String> = listing.files.iter().map(|f| jail.shown(f)).collect();
        // alias.json resolves to pods.json: the real file is listed once, under its real name.
        assert_eq!(shown, ["logs/ns/a.log", "pods.json"]);
        assert!(listing.files.iter().all(|f| f.starts_with(jail.root())));
        assert_eq!(
            listing.skipped,
            ["dangling.json", "evil.json", "logs/loop", "outdir"]
        );
    }

    #[cfg(unix)]
    #[test]
    fn resolve_refuses_anything_but_plain_names_inside() {
        use std::os::unix::fs::symlink;
        let (root, outside) = tree();
        symlink(outside.path(), root.path().join("out")).unwrap();
        let jail = Jail::open(root.path()).unwrap();
        assert!(jail.resolve(Path::new("pods.json")).unwrap().is_some());
        assert_eq!(jail.resolve(Path::new("nope.json")), Ok(None));
        for bad in ["../x", "/etc/passwd", "logs/../../x", ""] {
            let err = jail.resolve(Path::new(bad)).unwrap_err();
            assert!(matches!(err, JailError::NotPlain { .. }), "{bad}: {err}");
        }
        let err = jail.resolve(Path::new("out/secret.json")).unwrap_err();
        assert_eq!(
            err,
            JailError::Outside {
                path: "out/secret.json".into()
            }
        );
        let text = err.to_string();
        assert!(
            !text.contains(&outside.path().display().to_string()),
            "{text}"
        );
    }

    #[test]
    fn errors_name_paths_relative_to_the_root() {
        let (root, _outside) = tree();
        let jail = Jail::open(root.path()).unwrap();
        let gone = jail.root().join("logs/ns/gone.log");
        let err = jail.read_to_string(&gone).unwrap_err().to_string();
        assert_eq!(err, "logs/ns/gone.log: cannot be read (entity not found)");
        assert!(Jail::open(&root.path().join("pods.json")).is_err());
    }
}
