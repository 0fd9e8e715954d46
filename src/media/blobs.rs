//! The content-addressed blob store: files named by their SHA-256 under `blobs/ab/cd/<hex>`
//! in the data directory. A blob is written to `tmp/`, fsynced, then renamed into place (and
//! the folder fsynced), so a crash leaves either the whole file or none. Which blobs are in
//! use is the database's business (reference counts in `store::blobs`).
//!
//! Moving a blob in (until the record that uses it is committed) and deleting one (from the
//! check that nothing uses it to the removal) happen under the lock of that content hash
//! ([`BlobStore::lock`]), so an upload cannot bring content back between a deletion's check and
//! the deletion. The locks are striped by hash: uploads of different content do not wait for
//! each other.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::domain::hex::{decode_sha256, encode as hex};

/// Lock stripes: two hashes share a lock only when their first byte does modulo this.
const STRIPES: usize = 64;

#[derive(Clone)]
pub struct BlobStore {
    root: PathBuf,
    tmp: PathBuf,
    stripes: Arc<Vec<tokio::sync::Mutex<()>>>,
}

/// The locks of some content hashes, held until dropped.
pub struct BlobLocks<'a> {
    _guards: Vec<tokio::sync::MutexGuard<'a, ()>>,
}

/// A file being written in `tmp/`; deleted when dropped unless it was moved into the store.
pub struct TempBlob {
    path: PathBuf,
    file: Option<File>,
    hasher: Sha256,
    size: u64,
}

impl TempBlob {
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("the temporary file is closed"))?;
        file.write_all(bytes)?;
        self.hasher.update(bytes);
        self.size += bytes.len() as u64;
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hashes the file again after it was changed in place (metadata blanked).
    pub fn rehash(&mut self) -> io::Result<()> {
        use std::io::Read;
        let (mut hasher, mut size) = (Sha256::new(), 0u64);
        let mut file = File::open(&self.path)?;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            size += n as u64;
        }
        self.hasher = hasher;
        self.size = size;
        Ok(())
    }

    /// The SHA-256 of what was written so far (the blob's name, once finished).
    pub fn sha256(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }

    /// Flushes the content to disk and returns its SHA-256.
    pub fn finish(&mut self) -> io::Result<[u8; 32]> {
        if let Some(file) = self.file.take() {
            file.sync_all()?;
        }
        Ok(self.hasher.clone().finalize().into())
    }
}

impl Drop for TempBlob {
    fn drop(&mut self) {
        // Moved into the store (or never created): nothing to remove.
        let _ = fs::remove_file(&self.path);
    }
}

/// A temp file filled from async code: bytes are gathered and written (and hashed) on a
/// blocking thread a chunk at a time, so an upload never stalls the async workers.
pub struct TempWriter {
    /// Taken while a chunk is written; `None` only if that write panicked.
    temp: Option<TempBlob>,
    pending: Vec<u8>,
}

/// Bytes gathered before they are written out.
const WRITE_CHUNK: usize = 256 * 1024;

fn stopped(e: impl std::fmt::Display) -> io::Error {
    io::Error::other(format!("the write stopped: {e}"))
}

impl TempWriter {
    pub fn new(temp: TempBlob) -> Self {
        Self {
            temp: Some(temp),
            pending: Vec::new(),
        }
    }

    pub async fn push(&mut self, chunk: &[u8]) -> io::Result<()> {
        self.pending.extend_from_slice(chunk);
        if self.pending.len() >= WRITE_CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let mut temp = self
            .temp
            .take()
            .ok_or_else(|| stopped("an earlier write"))?;
        let bytes = std::mem::take(&mut self.pending);
        let (temp, bytes, written) = tokio::task::spawn_blocking(move || {
            let written = temp.write(&bytes);
            (temp, bytes, written)
        })
        .await
        .map_err(stopped)?;
        self.temp = Some(temp);
        // Keep the buffer's memory for the next chunk.
        self.pending = bytes;
        self.pending.clear();
        written
    }

    /// Writes what is left and flushes the file to disk.
    pub async fn finish(mut self) -> io::Result<TempBlob> {
        self.flush().await?;
        let mut temp = self
            .temp
            .take()
            .ok_or_else(|| stopped("an earlier write"))?;
        tokio::task::spawn_blocking(move || temp.finish().map(|_| temp))
            .await
            .map_err(stopped)?
    }
}

/// The SHA-256 of `bytes`, the name they are stored under.
pub fn hash_of(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl BlobStore {
    /// Uses (and creates) `blobs/` and `tmp/` in `data_dir`.
    pub fn open(data_dir: &Path) -> io::Result<Self> {
        let store = Self {
            root: data_dir.join("blobs"),
            tmp: data_dir.join("tmp"),
            stripes: Arc::new((0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect()),
        };
        fs::create_dir_all(&store.root)?;
        fs::create_dir_all(&store.tmp)?;
        Ok(store)
    }

    /// Where the blob with this hash lives. Built from the hash only, never from input.
    pub fn path_of(&self, sha256: &[u8; 32]) -> PathBuf {
        let name = hex(sha256);
        self.root.join(&name[0..2]).join(&name[2..4]).join(name)
    }

    /// A new temporary file for an upload or a variant.
    pub fn temp(&self) -> io::Result<TempBlob> {
        let name = format!("blob-{}", hex(&rand::random::<[u8; 16]>()));
        let path = self.tmp.join(name);
        let file = File::create_new(&path)?;
        Ok(TempBlob {
            path,
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
        })
    }

    /// Locks these content hashes (in a fixed order, so two callers cannot deadlock).
    pub async fn lock(&self, hashes: &[[u8; 32]]) -> BlobLocks<'_> {
        let mut stripes: Vec<usize> = hashes.iter().map(|h| usize::from(h[0]) % STRIPES).collect();
        stripes.sort_unstable();
        stripes.dedup();
        let mut guards = Vec::with_capacity(stripes.len());
        for i in stripes {
            guards.push(self.stripes[i].lock().await);
        }
        BlobLocks { _guards: guards }
    }

    /// Locks every hash: for the collector's pass over files on disk.
    pub async fn lock_all(&self) -> BlobLocks<'_> {
        let mut guards = Vec::with_capacity(STRIPES);
        for stripe in self.stripes.iter() {
            guards.push(stripe.lock().await);
        }
        BlobLocks { _guards: guards }
    }

    /// Moves a finished temporary file into place (call with its hash's lock held; the hash
    /// is [`TempBlob::finish`]'s).
    /// Identical content is stored once: if the blob exists, the copy is dropped.
    pub fn commit(&self, mut temp: TempBlob) -> io::Result<[u8; 32]> {
        let sha = temp.finish()?;
        let target = self.path_of(&sha);
        if target.exists() {
            return Ok(sha);
        }
        let folder = target
            .parent()
            .ok_or_else(|| io::Error::other("a blob path has no folder"))?;
        fs::create_dir_all(folder)?;
        fs::rename(&temp.path, &target)?;
        File::open(folder)?.sync_all()?;
        Ok(sha)
    }

    /// Writes `bytes` as a blob (call with the lock of its hash, [`hash_of`], held).
    pub fn put(&self, bytes: &[u8]) -> io::Result<[u8; 32]> {
        let mut temp = self.temp()?;
        temp.write(bytes)?;
        self.commit(temp)
    }

    /// Deletes a blob's file (call with its lock held, after the database let it go).
    pub fn remove(&self, sha256: &[u8; 32]) -> io::Result<()> {
        match fs::remove_file(self.path_of(sha256)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Deletes temporary files older than `age` (left by a crash mid-upload).
    pub fn sweep_temp(&self, age: std::time::Duration) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(&self.tmp)? {
            let entry = entry?;
            let old = entry
                .metadata()?
                .modified()?
                .elapsed()
                .is_ok_and(|e| e > age);
            if old && fs::remove_file(entry.path()).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// The hashes of every blob file on disk (files with other names are not ours and are
    /// left alone).
    pub fn list(&self) -> io::Result<Vec<[u8; 32]>> {
        let mut out = Vec::new();
        for first in fs::read_dir(&self.root)? {
            let first = first?;
            if !first.file_type()?.is_dir() {
                continue;
            }
            for second in fs::read_dir(first.path())? {
                let second = second?;
                if !second.file_type()?.is_dir() {
                    continue;
                }
                for file in fs::read_dir(second.path())? {
                    let name = file?.file_name();
                    if let Some(sha) = name.to_str().and_then(decode_sha256) {
                        out.push(sha);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_content_is_stored_once_and_temp_files_never_linger() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let a = blobs.put(b"hello").unwrap();
        let b = blobs.put(b"hello").unwrap();
        assert_eq!(a, b);
        assert_eq!(blobs.list().unwrap().len(), 1);
        assert!(blobs.path_of(&a).ends_with(hex(&a)));
        assert_eq!(blobs.list().unwrap(), vec![a]);
        {
            let mut abandoned = blobs.temp().unwrap();
            abandoned.write(b"half an upload").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
        blobs.remove(&a).unwrap();
        blobs.remove(&a).unwrap();
        assert_eq!(blobs.list().unwrap().len(), 0);
    }
}

#[cfg(test)]
mod lock_tests {
    use futures_util::FutureExt;

    use super::*;

    #[tokio::test]
    async fn locks_are_per_content_hash() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = BlobStore::open(dir.path()).unwrap();
        let a = [7u8; 32];
        let mut b = a;
        b[0] = 8;
        let held = blobs.lock(&[a]).await;
        assert!(
            blobs.lock(&[b]).now_or_never().is_some(),
            "other content does not wait"
        );
        assert!(
            blobs.lock(&[b, a]).now_or_never().is_none(),
            "the same content waits"
        );
        drop(held);
        assert!(blobs.lock(&[a, b]).now_or_never().is_some());
        let all = blobs.lock_all().await;
        assert!(blobs.lock(&[b]).now_or_never().is_none());
        drop(all);
    }
}
