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
//! - Bodies stream from the store in chunks (`get_partial`); a large file is
//!   never held in memory whole.

pub mod conditional;
pub mod mime;
pub mod path;
pub mod range;

use std::cell::RefCell;
use std::collections::HashMap;

use bytes::Bytes;
use futures::StreamExt;
use mirage_core::{Digest, EntryKind, Key, KvError, KvRo, PosixTime};

use crate::date::imf_fixdate;
use crate::handler::Handler;
use crate::request::{Method, Request, RequestHead};
use crate::response::{Body, BodyError, Response};
use conditional::{accepts_gzip, if_range_allows, not_modified, precondition_failed};
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
}

impl Default for SiteOptions {
    fn default() -> Self {
        SiteOptions {
            index: "index.html".to_owned(),
            not_found_page: Some("404.html".to_owned()),
            chunk_size: 64 * 1024,
            gzip_static: true,
            memoize_digests: true,
        }
    }
}

/// Most digests remembered; the memo is emptied when it fills.
const MEMO_CAPACITY: usize = 4096;

/// A digest and the size and time it was computed for.
type Memo = HashMap<Key, (u64, PosixTime, Digest)>;

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
            options,
            digests: RefCell::new(HashMap::new()),
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
        // One store call for the common case, a file: its size. Only when
        // that fails for another reason than "missing" is the kind asked.
        let kind = match self.kv.size(&key).await {
            Ok(size) => Ok(Some((EntryKind::Value, Some(size)))),
            Err(KvError::NotFound(_)) => Ok(None),
            Err(_) => self
                .kv
                .exists(&key)
                .await
                .map(|kind| kind.map(|k| (k, None))),
        };
        match kind {
            Ok(Some((EntryKind::Dictionary, _))) if !path.trailing_slash => {
                let mut location = path.to_url();
                location.push('/');
                if let Some(q) = req.query() {
                    location.push('?');
                    location.push_str(q);
                }
                Response::error(301).with_header("location", location)
            }
            Ok(Some((EntryKind::Dictionary, _))) => {
                let Ok(index) = key.join(self.options.index.as_str()) else {
                    return self.not_found(reader, req).await;
                };
                match self.kv.size(&index).await {
                    Ok(size) => self.serve(reader, req, &index, size).await,
                    Err(KvError::NotFound(_) | KvError::ValueExpected(_)) => {
                        self.not_found(reader, req).await
                    }
                    Err(e) => self.failed(&index, e),
                }
            }
            Ok(Some((EntryKind::Value, size))) if !path.trailing_slash => {
                let size = match size {
                    Some(size) => size,
                    None => match self.kv.size(&key).await {
                        Ok(size) => size,
                        Err(e) => return self.failed(&key, e),
                    },
                };
                self.serve(reader, req, &key, size).await
            }
            Ok(_) => self.not_found(reader, req).await,
            Err(e) => self.failed(&key, e),
        }
    }

    /// Serves the value at `key`, honouring conditionals, ranges and gzip.
    async fn serve<'a, R: KvRo + 'a>(
        &self,
        reader: R,
        req: &RequestHead,
        key: &Key,
        size: u64,
    ) -> Response<'a> {
        let name = key.basename().unwrap_or("");
        let mut chosen = key.clone();
        let mut size = size;
        let mut gzip = false;
        let mut vary = false;
        if self.options.gzip_static {
            if let Ok(gz) = key.parent().join(format!("{name}.gz")) {
                // Its size tells both that the sibling is a file and how big.
                if let Ok(gz_size) = self.kv.size(&gz).await {
                    vary = true;
                    if accepts_gzip(&req.headers) {
                        chosen = gz;
                        size = gz_size;
                        gzip = true;
                    }
                }
            }
        }
        let meta = async {
            let modified = self.kv.last_modified(&chosen).await?;
            let digest = self.digest(&chosen, size, modified).await?;
            Ok::<_, KvError>((size, digest, modified))
        };
        let (size, digest, modified) = match meta.await {
            Ok(m) => m,
            Err(KvError::NotFound(_)) => return self.not_found(reader, req).await,
            Err(e) => return self.failed(&chosen, e),
        };
        let etag = format!("\"{digest}\"");
        let mut resp = Response::new(200)
            .with_header("content-type", mime::content_type(name))
            .with_header("last-modified", imf_fixdate(modified))
            .with_header("etag", etag.clone())
            .with_header("accept-ranges", "bytes");
        if gzip {
            resp.headers.append("content-encoding", "gzip");
        }
        if vary {
            resp.headers.append("vary", "Accept-Encoding");
        }
        if precondition_failed(&req.headers, &etag, modified) {
            return Response::error(412);
        }
        if not_modified(&req.headers, &etag, modified) {
            resp.status = 304;
            resp.headers.remove("accept-ranges");
            return resp;
        }
        let head_only = req.method == Method::Head;
        let range = match req.headers.get("range") {
            Some(r)
                if req.method == Method::Get && if_range_allows(&req.headers, &etag, modified) =>
            {
                parse_range(r, size)
            }
            _ => RangeRequest::Full,
        };
        match range {
            RangeRequest::Full => {
                resp.with_body(self.body(reader, chosen, 0, size, head_only).await)
            }
            RangeRequest::Partial { start, end } => {
                resp.status = 206;
                resp.headers
                    .append("content-range", format!("bytes {start}-{end}/{size}"));
                resp.with_body(self.body(reader, chosen, start, end + 1, head_only).await)
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
            if let Ok(b) = reader.get_partial(&key, start, len as usize).await {
                if b.len() as u64 == len {
                    return Body::Full(b);
                }
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

    /// The digest of `key`, from the memo when `size` and `modified` match.
    async fn digest(&self, key: &Key, size: u64, modified: PosixTime) -> Result<Digest, KvError> {
        if !self.options.memoize_digests {
            return self.kv.digest(key).await;
        }
        if let Some(&(s, m, d)) = self.digests.borrow().get(key) {
            if (s, m) == (size, modified) {
                return Ok(d);
            }
        }
        let digest = self.kv.digest(key).await?;
        let mut memo = self.digests.borrow_mut();
        if memo.len() >= MEMO_CAPACITY {
            memo.clear();
        }
        memo.insert(key.clone(), (size, modified, digest));
        Ok(digest)
    }

    /// 404, with the site's own page when it has one.
    async fn not_found<'a, R: KvRo + 'a>(&self, reader: R, req: &RequestHead) -> Response<'a> {
        if let Some(page) = &self.options.not_found_page {
            if let Ok(key) = Key::parse(page) {
                if let (Ok(Some(EntryKind::Value)), Ok(size)) =
                    (self.kv.exists(&key).await, self.kv.size(&key).await)
                {
                    let name = key.basename().unwrap_or("").to_owned();
                    let body = self
                        .body(reader, key, 0, size, req.method == Method::Head)
                        .await;
                    return Response::new(404)
                        .with_header("content-type", mime::content_type(&name))
                        .with_body(body);
                }
            }
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
