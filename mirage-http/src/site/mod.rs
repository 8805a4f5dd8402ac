//! Static sites from any [`KvRo`], served as nginx serves a directory.
//!
//! - `/` and directories serve their `index.html`; a directory named
//!   without its trailing slash is redirected (301) to it.
//! - `Content-Type` by extension ([`mime`]), `ETag` from the store's
//!   digest, `Last-Modified` from its modification time.
//! - `If-None-Match` / `If-Modified-Since` give 304, a failed `If-Match` /
//!   `If-Unmodified-Since` 412 ([`conditional`]).
//! - A single `Range` gives 206, or 416 when it lies outside the value;
//!   several ranges are answered with the whole value ([`range`]).
//! - A `NAME.gz` sibling is served with `Content-Encoding: gzip` to clients
//!   that accept it, with `Vary: Accept-Encoding` (nginx `gzip_static`).
//! - A `404.html` at the root is the body of every 404.
//! - Paths are percent-decoded and dot-segments removed before they become
//!   a [`Key`]; nothing outside the store's root can be named ([`path`]).
//! - Bodies of at least [`SiteOptions::region_min`] bytes are regions the
//!   store lends ([`KvRo::region`]): on host sockets a directory's file is
//!   sent with `sendfile(2)`, after the head, never read into memory.
//! - Otherwise (and from stores that lend no regions) bodies stream from
//!   the store in chunks (`get_partial`); a large file is never held in
//!   memory whole. Small files are kept in memory, within a
//!   byte budget, while their size and modification time stay the same
//!   ([`SiteOptions::cache_bytes`]).
//! - A request costs one [`KvRo::metadata`] call (two with `gzip_static`),
//!   plus one read when the body is not cached.

pub mod conditional;
mod memo;
pub mod mime;
pub mod path;
pub mod range;

use std::cell::RefCell;

use bytes::Bytes;
use futures::StreamExt;
use mirage_core::{EntryKind, Key, KvError, KvRo, Metadata};

use crate::handler::Handler;
use crate::request::{Method, Request, RequestHead};
use crate::response::{Body, BodyError, Response};
use conditional::{accepts_gzip, if_range_allows, not_modified, precondition_failed};
use memo::{Entry, Memo};
use range::{RangeRequest, parse_range};

/// Choices for a [`StaticSite`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteOptions {
    /// The file served for a directory. Default `index.html`.
    pub index: String,
    /// The page (at the root) sent as the body of a 404, if it exists.
    /// Default `404.html`.
    pub not_found_page: Option<String>,
    /// Bytes read from the store per chunk of a streamed body; bodies no
    /// larger are read in one piece. Default 64 KiB.
    pub chunk_size: usize,
    /// Serve `NAME.gz` siblings to clients accepting gzip. Default on.
    pub gzip_static: bool,
    /// Remember each value's digest while its size and modification time
    /// stay the same, instead of asking the store on every request (a
    /// directory store hashes the whole file to answer). A rewrite that
    /// keeps both the size and the time stamp (within the store's time
    /// resolution) keeps the old `ETag` until either changes, as nginx's
    /// own `ETag` (time and size) would. Default on.
    pub memoize_digests: bool,
    /// Bytes of small files kept in memory between requests, under the same
    /// rule as the digests (so only with `memoize_digests`): a kept body is
    /// served while the store reports the same size and modification time.
    /// When the budget fills, every kept body is dropped. 0 turns it off.
    /// Default 16 MiB.
    pub cache_bytes: usize,
    /// The largest file kept in memory (read whole, in one call, when first
    /// served). Larger files always stream in `chunk_size` pieces. Default
    /// 128 KiB.
    pub cache_max_file: usize,
    /// Bodies (whole values or single ranges) of at least this many bytes
    /// are sent as regions the store lends ([`KvRo::region`]), which a
    /// directory store on host sockets sends with `sendfile(2)`, never
    /// copied through memory; smaller ones are read (or kept in memory) and
    /// leave with the head in one write. Stores that lend no regions are
    /// read as before. `u64::MAX` turns it off. Default 32 KiB.
    pub region_min: u64,
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            index: "index.html".to_owned(),
            not_found_page: Some("404.html".to_owned()),
            chunk_size: 64 * 1024,
            gzip_static: true,
            memoize_digests: true,
            cache_bytes: 16 * 1024 * 1024,
            cache_max_file: 128 * 1024,
            region_min: 32 * 1024,
        }
    }
}

/// A [`Handler`] serving the files of a key-value store.
#[derive(Debug)]
pub struct StaticSite<K> {
    kv: K,
    options: SiteOptions,
    digests: RefCell<Memo>,
}

impl<K: KvRo> StaticSite<K> {
    /// Serves `kv` with the default [`SiteOptions`].
    pub fn new(kv: K) -> Self {
        StaticSite::with_options(kv, SiteOptions::default())
    }

    /// Serves `kv` with `options`.
    pub fn with_options(kv: K, options: SiteOptions) -> Self {
        StaticSite {
            kv,
            digests: RefCell::new(Memo::new(if options.memoize_digests {
                options.cache_bytes
            } else {
                0
            })),
            options,
        }
    }

    /// The store.
    pub fn kv(&self) -> &K {
        &self.kv
    }

    /// The response to a request with this head (the body is not needed).
    /// A streamed body reads from the site's store as the connection takes it.
    pub async fn respond(&self, req: &RequestHead) -> Response<'_> {
        self.respond_via(&self.kv, req).await
    }

    /// Like [`StaticSite::respond`], but a streamed body reads from its own
    /// clone of the store, so the response outlives `self`. An appliance that
    /// swaps whole sites (a new commit) answers each request from the site it
    /// started with, even if a swap happens while the body streams.
    pub async fn respond_owned(&self, req: &RequestHead) -> Response<'static>
    where
        K: Clone + 'static,
    {
        self.respond_via(self.kv.clone(), req).await
    }

    /// [`StaticSite::respond`], with bodies streamed from `reader` (the
    /// site's store, borrowed or cloned).
    async fn respond_via<'a, R: KvRo + 'a>(&self, reader: R, req: &RequestHead) -> Response<'a> {
        match req.method {
            Method::Get | Method::Head => {}
            _ => return Response::error(405).with_header("allow", "GET, HEAD"),
        }
        let Ok(path) = path::normalize(req.path()) else {
            return Response::error(400);
        };
        let Ok(key) = Key::from_segments(path.segments.iter().cloned()) else {
            return Response::error(400);
        };
        let meta = match self.kv.metadata(&key).await {
            Ok(m) => m,
            Err(KvError::NotFound(_)) => return self.not_found(reader, req).await,
            Err(e) => return self.failed(&key, e),
        };
        match meta.kind {
            EntryKind::Dictionary if !path.trailing_slash => {
                let mut location = path.to_url();
                location.push('/');
                if let Some(q) = req.query() {
                    location.push('?');
                    location.push_str(q);
                }
                Response::error(301).with_header("location", location)
            }
            EntryKind::Dictionary => {
                let Ok(index) = key.join(self.options.index.as_str()) else {
                    return self.not_found(reader, req).await;
                };
                match self.kv.metadata(&index).await {
                    Ok(m) if m.kind == EntryKind::Value => self.serve(reader, req, &index, m).await,
                    Ok(_) | Err(KvError::NotFound(_)) => self.not_found(reader, req).await,
                    Err(e) => self.failed(&index, e),
                }
            }
            EntryKind::Value if !path.trailing_slash => self.serve(reader, req, &key, meta).await,
            EntryKind::Value => self.not_found(reader, req).await,
        }
    }

    /// Serves the value at `key`, honouring conditionals, ranges and gzip.
    async fn serve<'a, R: KvRo + 'a>(
        &self,
        reader: R,
        req: &RequestHead,
        key: &Key,
        meta: Metadata,
    ) -> Response<'a> {
        let name = key.basename().unwrap_or("");
        let mut chosen = key.clone();
        let mut meta = meta;
        let mut gzip = false;
        let mut vary = false;
        if self.options.gzip_static
            && let Ok(gz) = key.parent().join(format!("{name}.gz"))
        {
            // Only a value counts as a sibling.
            if let Ok(gz_meta) = self.kv.metadata(&gz).await
                && gz_meta.kind == EntryKind::Value
            {
                vary = true;
                if accepts_gzip(&req.headers) {
                    chosen = gz;
                    meta = gz_meta;
                    gzip = true;
                }
            }
        }
        let (size, modified) = (meta.size, meta.last_modified);
        let entry = match self.entry(&chosen, &meta).await {
            Ok(e) => e,
            Err(KvError::NotFound(_)) => return self.not_found(reader, req).await,
            Err(e) => return self.failed(&chosen, e),
        };
        // Validators compare as text; the field values are shared bytes.
        let etag = core::str::from_utf8(&entry.etag).unwrap_or_default();
        let mut resp = Response::new(200)
            .with_header("content-type", mime::content_type(name))
            .with_header("last-modified", entry.last_modified.clone())
            .with_header("etag", entry.etag.clone())
            .with_header("accept-ranges", "bytes");
        if gzip {
            resp.headers.append("content-encoding", "gzip");
        }
        if vary {
            resp.headers.append("vary", "Accept-Encoding");
        }
        if precondition_failed(&req.headers, etag, modified) {
            return Response::error(412);
        }
        if not_modified(&req.headers, etag, modified) {
            resp.status = 304;
            resp.headers.remove("accept-ranges");
            return resp;
        }
        let head_only = req.method == Method::Head;
        let range = match req.headers.get("range") {
            Some(r)
                if req.method == Method::Get && if_range_allows(&req.headers, etag, modified) =>
            {
                parse_range(r, size)
            }
            _ => RangeRequest::Full,
        };
        match range {
            RangeRequest::Full => {
                let body = self.cached_body(reader, &chosen, &entry, 0, size, head_only);
                resp.with_body(body.await)
            }
            RangeRequest::Partial { start, end } => {
                resp.status = 206;
                resp.headers
                    .append("content-range", format!("bytes {start}-{end}/{size}"));
                let body = self.cached_body(reader, &chosen, &entry, start, end + 1, head_only);
                resp.with_body(body.await)
            }
            RangeRequest::Unsatisfiable => {
                let mut r = Response::error(416);
                r.headers.append("content-range", format!("bytes */{size}"));
                r
            }
        }
    }

    /// The bytes `start..end` of `key`: read at once when small, else a
    /// stream of chunks read as the connection takes them. For `HEAD`
    /// nothing is read.
    async fn body<'a, R: KvRo + 'a>(
        &self,
        reader: R,
        key: Key,
        start: u64,
        end: u64,
        head_only: bool,
    ) -> Body<'a> {
        let len = end.saturating_sub(start);
        if len == 0 {
            return Body::Empty;
        }
        let chunk = self.options.chunk_size.max(1);
        if !head_only && len <= chunk as u64 {
            // One read; if it comes back short the stream path reports it.
            if let Ok(b) = reader.get_partial(&key, start, len as usize).await
                && b.len() as u64 == len
            {
                return Body::Full(b);
            }
        }
        let stream = futures::stream::unfold(Some((reader, key, start)), move |state| async move {
            let (reader, key, offset) = state?;
            if offset >= end {
                return None;
            }
            let want = (end - offset).min(chunk as u64) as usize;
            match reader.get_partial(&key, offset, want).await {
                Ok(b) if b.is_empty() => Some((
                    Err(BodyError::Truncated {
                        got: offset - start,
                        expected: len,
                    }),
                    None,
                )),
                Ok(b) => {
                    let b: Bytes = if b.len() > want { b.slice(..want) } else { b };
                    let next = offset + b.len() as u64;
                    Some((Ok(b), Some((reader, key, next))))
                }
                Err(e) => Some((Err(BodyError::Kv(e)), None)),
            }
        });
        Body::Stream {
            len: Some(len),
            stream: stream.boxed_local(),
        }
    }

    /// The remembered entry of the value `key` (digest, field values, maybe
    /// its bytes) when `meta`'s size and time match; else a new one, with
    /// the digest from `meta` or the store.
    async fn entry(&self, key: &Key, meta: &Metadata) -> Result<Entry, KvError> {
        let (size, modified) = (meta.size, meta.last_modified);
        if self.options.memoize_digests
            && let Some(e) = self.digests.borrow().get(key, size, modified)
        {
            return Ok(e.clone());
        }
        let digest = match meta.digest {
            Some(d) => d,
            None => self.kv.digest(key).await?,
        };
        let entry = Entry::new(size, modified, &digest);
        if self.options.memoize_digests {
            self.digests.borrow_mut().insert(key, entry.clone());
        }
        Ok(entry)
    }

    /// The bytes `start..end` of `key`: from memory when its `entry` holds
    /// them; else read, whole and kept when the file is small enough (and
    /// this is not a `HEAD`), or as [`StaticSite::body`] reads.
    async fn cached_body<'a, R: KvRo + 'a>(
        &self,
        reader: R,
        key: &Key,
        entry: &Entry,
        start: u64,
        end: u64,
        head_only: bool,
    ) -> Body<'a> {
        let size = entry.size;
        if let Some(body) = self.lent(&reader, key, start, end, head_only).await {
            return body;
        }
        if let Some(b) = &entry.body
            && end <= b.len() as u64
            && start < end
        {
            return Body::Full(b.slice(start as usize..end as usize));
        }
        let keep = !head_only
            && self.options.memoize_digests
            && size > 0
            && size <= self.options.cache_max_file as u64
            && self.digests.borrow().has_room_for(size as usize);
        if keep
            && let Ok(b) = reader.get_partial(key, 0, size as usize).await
            && b.len() as u64 == size
        {
            self.digests
                .borrow_mut()
                .keep_body(key, entry.modified, b.clone());
            return match end.saturating_sub(start) {
                0 => Body::Empty,
                _ => Body::Full(b.slice(start as usize..end as usize)),
            };
        }
        self.body(reader, key.clone(), start, end, head_only).await
    }

    /// The bytes `start..end` of `key` as a region the store lends, when
    /// they are to be sent (not `HEAD`), are at least
    /// [`SiteOptions::region_min`] long, and the store lends them whole;
    /// bytes it holds in memory come back as [`Body::Full`].
    async fn lent<'a, R: KvRo + 'a>(
        &self,
        reader: &R,
        key: &Key,
        start: u64,
        end: u64,
        head_only: bool,
    ) -> Option<Body<'a>> {
        let len = end.saturating_sub(start);
        if head_only || len == 0 || len < self.options.region_min {
            return None;
        }
        match reader.region(key, start, len).await {
            Ok(Some(r)) if r.len() == len => Some(match r.as_bytes() {
                Some(b) => Body::Full(b.clone()),
                None => Body::Region(r),
            }),
            // Short (the value changed since its metadata was read), none,
            // or an error: the usual path reads it and reports what it finds.
            _ => None,
        }
    }

    /// 404, with the site's own page when it has one.
    async fn not_found<'a, R: KvRo + 'a>(&self, reader: R, req: &RequestHead) -> Response<'a> {
        if let Some(page) = &self.options.not_found_page
            && let Ok(key) = Key::parse(page)
            && let Ok(Metadata {
                kind: EntryKind::Value,
                size,
                ..
            }) = self.kv.metadata(&key).await
        {
            let name = key.basename().unwrap_or("").to_owned();
            let head_only = req.method == Method::Head;
            let body = match self.lent(&reader, &key, 0, size, head_only).await {
                Some(body) => body,
                None => self.body(reader, key, 0, size, head_only).await,
            };
            return Response::new(404)
                .with_header("content-type", mime::content_type(&name))
                .with_body(body);
        }
        Response::error(404)
    }

    fn failed(&self, key: &Key, e: KvError) -> Response<'static> {
        log::warn!("{key}: {e}");
        Response::error(500)
    }
}

impl<K: KvRo> Handler for StaticSite<K> {
    async fn handle(&self, req: Request) -> Response<'_> {
        self.respond(&req.head).await
    }
}
