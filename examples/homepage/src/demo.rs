//! The demo content `cargo run -p homepage` starts with: a small site and
//! an `example.org` zone, committed to a fresh repository on first run.

use bytes::Bytes;
use mirage_core::{Key, WallClock};
use mirage_irmin::{Author, Backend, ObjectId, Repo, StoreError};

/// The files of the demo, as (path, contents).
pub const FILES: &[(&str, &str)] = &[
    (
        "site/index.html",
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>My homepage</title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1>Hello from a unikernel</h1>
<p>This page and the <code>example.org</code> zone are served from a Git
repository. Push a change to it and watch this page follow.</p>
<p><a href="/about/">About this appliance</a></p>
</body>
</html>
"#,
    ),
    (
        "site/about/index.html",
        r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>About</title><link rel="stylesheet" href="/style.css"></head>
<body>
<h1>About</h1>
<p>Built with mirage-rs: one generic <code>start</code> function over device
signatures, applied to the Unix backend.</p>
<p><a href="/">Home</a></p>
</body>
</html>
"#,
    ),
    (
        "site/style.css",
        "body { font-family: sans-serif; max-width: 40em; margin: 2em auto; line-height: 1.5; }\n",
    ),
    (
        "site/404.html",
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Not found</title></head>
<body><h1>Not found</h1><p><a href="/">Home</a></p></body></html>
"#,
    ),
    (
        "zones/example.org.zone",
        r#"$ORIGIN example.org.
$TTL 3600
@       IN SOA  ns1.example.org. hostmaster.example.org. (
                2026112501 ; serial
                7200       ; refresh
                3600       ; retry
                1209600    ; expire
                300 )      ; negative-answer TTL
        IN NS   ns1.example.org.
        IN A    127.0.0.1
        IN AAAA ::1
        IN MX   10 mail.example.org.
        IN TXT  "v=spf1 mx -all"
ns1     IN A    127.0.0.1
mail    IN A    127.0.0.1
www     IN CNAME example.org.
"#,
    ),
];

/// Commits the demo files to `branch` if the branch has no commit yet.
/// Returns the branch head either way.
pub async fn seed<B: Backend, C: WallClock>(
    repo: &Repo<B, C>,
    branch: &str,
) -> Result<ObjectId, StoreError> {
    let store = repo.branch(branch)?;
    if let Some(head) = store.head().await? {
        return Ok(head);
    }
    let mut tx = store.transaction();
    for (path, contents) in FILES {
        let key = Key::parse(path).expect("demo paths are valid keys");
        tx.set(key, Bytes::from_static(contents.as_bytes()));
    }
    let info = mirage_irmin::Info::new(
        Author::new("homepage", "homepage@example.org"),
        "Initial homepage and example.org zone",
    );
    let head = tx.commit(info).await?;
    Ok(head.expect("a first commit with files creates a head"))
}
