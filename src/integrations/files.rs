//! File storage behind a small trait: local files under `data/files` by
//! default; an object store can implement the same trait for scale-out.

use std::path::{Component, Path, PathBuf};

use anyhow::Context;

use crate::store::BoxFuture;

/// Stores blobs by key (`banners/<event>/<name>.jpg`).
pub trait FileStore: Send + Sync + 'static {
    /// Writes a blob, replacing any previous one.
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, anyhow::Result<()>>;
    /// Reads a blob; `None` when missing.
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>>;
    /// Deletes a blob (missing is fine).
    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<()>>;
}

/// Files under a root directory.
pub struct LocalFiles {
    root: PathBuf,
}

impl LocalFiles {
    /// Files under `root` (created on first write).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    /// The path of a key; keys with `..`, absolute parts or empty segments
    /// are refused, so a key can never leave the root.
    fn path(&self, key: &str) -> anyhow::Result<PathBuf> {
        let rel = Path::new(key);
        let safe = !key.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        anyhow::ensure!(safe, "invalid file key {key:?}");
        Ok(self.root.join(rel))
    }
}

impl FileStore for LocalFiles {
    fn put<'a>(&'a self, key: &'a str, bytes: Vec<u8>) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let path = self.path(key)?;
            if let Some(dir) = path.parent() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .with_context(|| format!("while creating {}", dir.display()))?;
            }
            // Write to a temporary name, then rename: readers never see half a file.
            let tmp = path.with_extension("partial");
            tokio::fs::write(&tmp, bytes)
                .await
                .with_context(|| format!("while writing {}", tmp.display()))?;
            tokio::fs::rename(&tmp, &path)
                .await
                .with_context(|| format!("while renaming to {}", path.display()))?;
            Ok(())
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<Option<Vec<u8>>>> {
        Box::pin(async move {
            let Ok(path) = self.path(key) else {
                return Ok(None);
            };
            match tokio::fs::read(&path).await {
                Ok(b) => Ok(Some(b)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e).with_context(|| format!("while reading {}", path.display())),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, anyhow::Result<()>> {
        Box::pin(async move {
            let path = self.path(key)?;
            match tokio::fs::remove_file(&path).await {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    Err(e).with_context(|| format!("while deleting {}", path.display()))
                }
                _ => Ok(()),
            }
        })
    }
}
