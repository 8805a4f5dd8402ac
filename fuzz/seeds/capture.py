#!/usr/bin/env python3
"""Regenerates the seed corpora in fuzz/seeds/ from real tools.

DNS queries are what `dig` sends (caught by a UDP/TCP listener on
127.0.0.1); DNS responses are what `nsd` answers for them from
example.com.zone; HTTP requests are what `curl` sends (caught by a TCP
listener); git objects and packs come from a small repository made with
`git`. Needs dig, nsd, curl and git. Run from anywhere:

    python3 fuzz/seeds/capture.py
"""

import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port(kind=socket.SOCK_DGRAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def save(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def clear(target):
    shutil.rmtree(os.path.join(HERE, target), ignore_errors=True)


# ---------------------------------------------------------------- DNS

# (name, dig arguments): each is one query as dig sends it.
DIG_QUERIES = [
    ("a", ["www.example.com", "A"]),
    ("aaaa-norec", ["www.example.com", "AAAA", "+norec"]),
    ("mx", ["example.com", "MX"]),
    ("txt", ["www.example.com", "TXT"]),
    ("soa-dnssec", ["example.com", "SOA", "+dnssec"]),
    ("dnskey-dnssec", ["example.com", "DNSKEY", "+dnssec", "+cd"]),
    ("cname", ["alias.example.com", "A"]),
    ("wildcard", ["x.wild.example.com", "A"]),
    ("referral", ["host.sub.example.com", "A"]),
    ("nxdomain", ["nothere.example.com", "A"]),
    ("dname", ["x.legacy.example.com", "A"]),
    ("srv", ["_sip._tcp.example.com", "SRV"]),
    ("tlsa", ["_443._tcp.www.example.com", "TLSA"]),
    ("https", ["example.com", "HTTPS"]),
    ("svcb", ["_svc.example.com", "SVCB"]),
    ("loc", ["example.com", "LOC"]),
    ("caa", ["example.com", "CAA"]),
    ("sshfp", ["www.example.com", "SSHFP"]),
    ("ptr", ["1.2.0.192.in-addr.example.com", "PTR"]),
    ("null", ["null.example.com", "TYPE10"]),
    ("refused", ["example.org", "A"]),
    ("noedns", ["www.example.com", "A", "+noedns"]),
    ("edns1", ["www.example.com", "A", "+edns=1", "+noednsneg"]),
    ("nsid-cookie", ["www.example.com", "A", "+nsid", "+cookie"]),
    ("subnet", ["www.example.com", "A", "+subnet=192.0.2.0/24"]),
    ("ednsopt-bufsize", ["www.example.com", "A", "+ednsopt=65001:abcd", "+bufsize=4096"]),
    ("zflag-ad", ["www.example.com", "A", "+zflag", "+adflag"]),
    ("chaos", ["version.bind", "TXT", "-c", "CH"]),
    ("notify", ["example.com", "SOA", "+opcode=notify", "+norec"]),
    ("upper-case", ["WwW.ExAmPlE.CoM", "A"]),
]


def capture_udp_query(args):
    """The datagram dig sends for `args`."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    port = sock.getsockname()[1]
    dig = subprocess.Popen(
        ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+timeout=1", "+ignore"] + args,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    data, _ = sock.recvfrom(65535)
    dig.kill()
    dig.wait()
    sock.close()
    return data


def capture_tcp_query(args):
    """The message dig sends over TCP for `args` (without the length prefix)."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(10)
    port = srv.getsockname()[1]
    dig = subprocess.Popen(
        ["dig", "@127.0.0.1", "-p", str(port), "+tries=1", "+timeout=1"] + args,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn, _ = srv.accept()
    conn.settimeout(5)
    (n,) = struct.unpack("!H", recv_exact(conn, 2))
    data = recv_exact(conn, n)
    conn.close()
    dig.kill()
    dig.wait()
    srv.close()
    return data


def recv_exact(conn, n):
    out = b""
    while len(out) < n:
        chunk = conn.recv(n - len(out))
        if not chunk:
            raise EOFError("connection closed")
        out += chunk
    return out


def start_nsd(work):
    port = free_port()
    zone = os.path.join(HERE, "example.com.zone")
    conf = os.path.join(work, "nsd.conf")
    with open(conf, "w") as f:
        f.write(f"""server:
    ip-address: 127.0.0.1@{port}
    port: {port}
    username: ""
    chroot: ""
    zonesdir: "{work}"
    database: ""
    zonelistfile: "{work}/zone.list"
    xfrdfile: "{work}/xfrd.state"
    xfrdir: "{work}"
    pidfile: "{work}/nsd.pid"
    logfile: "{work}/nsd.log"
    verbosity: 1
    identity: "seed"
    nsid: "ascii_seed"
    hide-version: no
    answer-cookie: yes
remote-control:
    control-enable: no
zone:
    name: example.com
    zonefile: "{zone}"
    provide-xfr: 127.0.0.1 NOKEY
""")
    nsd = subprocess.Popen(["nsd", "-d", "-c", conf], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            ask_udp(port, capture_udp_query(["example.com", "SOA"]), timeout=0.2)
            return nsd, port
        except (socket.timeout, OSError):
            time.sleep(0.1)
    nsd.kill()
    sys.exit("nsd did not start; see " + work + "/nsd.log")


def ask_udp(port, query, timeout=2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    s.sendto(query, ("127.0.0.1", port))
    data, _ = s.recvfrom(65535)
    s.close()
    return data


def ask_tcp(port, query):
    """All response messages nsd sends on one TCP connection (AXFR gives several)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    s.sendall(struct.pack("!H", len(query)) + query)
    out = []
    try:
        while True:
            (n,) = struct.unpack("!H", recv_exact(s, 2))
            out.append(recv_exact(s, n))
            if len(out) > 1 and out[-1][6:8] != b"\0\0" and b"\x00\x06" in out[-1][-64:]:
                break
    except (EOFError, socket.timeout):
        pass
    s.close()
    return out


def dns():
    for t in ("dns_message", "dns_server", "dns_zone"):
        clear(t)
    queries = {name: capture_udp_query(args) for name, args in DIG_QUERIES}
    # dig sends these over TCP.
    queries["axfr-tcp"] = capture_tcp_query(["example.com", "AXFR"])
    queries["ixfr-tcp"] = capture_tcp_query(["example.com", "IXFR=2024010100"])
    queries["any-tcp"] = capture_tcp_query(["example.com", "ANY"])
    queries["a-tcp"] = capture_tcp_query(["www.example.com", "A", "+tcp"])
    for name, q in queries.items():
        save("dns_message", f"query-{name}", q)
        # dns_server: first byte 0 = UDP, 1 = TCP.
        save("dns_server", f"query-{name}", (b"\1" if name.endswith("tcp") else b"\0") + q)
    work = tempfile.mkdtemp(prefix="mirage-fuzz-nsd-")
    nsd, port = start_nsd(work)
    try:
        for name, q in queries.items():
            if name.endswith("tcp"):
                for i, r in enumerate(ask_tcp(port, q)):
                    save("dns_message", f"response-{name}-{i}", r)
            else:
                try:
                    save("dns_message", f"response-{name}", ask_udp(port, q))
                except socket.timeout:
                    pass  # nsd drops some queries (e.g. NOTIFY from an unknown master)
    finally:
        nsd.terminate()
        nsd.wait()
        shutil.rmtree(work, ignore_errors=True)
    with open(os.path.join(HERE, "example.com.zone"), "rb") as f:
        save("dns_zone", "example.com.zone", f.read())
    tsig(queries)
    for name, text in ZONE_SNIPPETS.items():
        save("dns_zone", name, text.encode())


# The key the dns_tsig target holds (fuzz_targets/dns_tsig.rs).
TSIG_KEY = "hmac-sha256:k.example.:c2VjcmV0LWtleS1mb3ItZnV6emluZy10c2lnLXNlZWRzLTAx"


def tsig(queries):
    """dns_tsig seeds: first byte 0 = verify, 1 = sign and verify, 2 = BIND
    key clause, 3 = dig -y triple."""
    clear("dns_tsig")
    for name, args in [("signed-soa", ["example.com", "SOA"]),
                       ("signed-axfr-style", ["example.com", "A", "+norec", "+nsid"])]:
        save("dns_tsig", name, b"\0" + capture_udp_query(["-y", TSIG_KEY] + args))
    save("dns_tsig", "signed-tcp", b"\0" + capture_tcp_query(["-y", TSIG_KEY, "example.com", "AXFR"]))
    for name in ("a", "noedns", "nsid-cookie"):
        save("dns_tsig", f"sign-{name}", b"\1" + queries[name])
    algorithm, key, secret = TSIG_KEY.split(":")
    save("dns_tsig", "bind-key", b"\2" + f"""# as tsig-keygen prints it
key "{key.rstrip('.')}" {{
\talgorithm {algorithm};
\tsecret "{secret}";
}};
/* a second key */ key "other" {{ algorithm hmac-sha512; secret "b3RoZXI="; }}; // done
""".encode())
    save("dns_tsig", "triple", b"\3" + TSIG_KEY.encode())
    save("dns_tsig", "pair", b"\3" + TSIG_KEY.split(":", 1)[1].encode())


ZONE_SNIPPETS = {
    "directives.zone": "$ORIGIN sub.example.com.\n$TTL 1h30m\n@ SOA ns hm (1 2 3 4 5)\n"
                       "  NS ns\nns 60 IN A 192.0.2.1\n$INCLUDE other.zone\n",
    "inherit.zone": "$TTL 300\nexample.com. IN SOA ns hm 1 2 3 4 5\n\tIN NS ns\n\tMX 0 .\n"
                    "ns A 192.0.2.1\n   AAAA ::1\n",
    "escapes.zone": "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n"
                    "a\\.b TXT \"semi;colon\" \\\"unquoted\\\" \"\\255\\000\"\n"
                    "\\@ CNAME @\nunknown TYPE65280 \\# 0\nclass CLASS1 A 192.0.2.9\n",
}

# ---------------------------------------------------------------- HTTP

CURL_REQUESTS = [
    ("get", ["http://{a}/"]),
    ("get-query", ["http://{a}/dir/page.html?q=1&r=%20x#frag"]),
    ("head", ["-I", "http://{a}/index.html"]),
    ("http10", ["--http1.0", "http://{a}/"]),
    ("post-form", ["-d", "name=value&other=1", "http://{a}/form"]),
    ("post-chunked", ["-H", "Transfer-Encoding: chunked", "--data-binary", "hello chunked world",
                      "http://{a}/upload"]),
    ("put-expect", ["-X", "PUT", "-H", "Expect: 100-continue", "--data-binary", "x" * 40,
                    "http://{a}/put"]),
    ("range-conditional", ["-r", "0-99", "-H", "If-None-Match: \"abc\"",
                           "-H", "If-Modified-Since: Wed, 21 Oct 2015 07:28:00 GMT",
                           "http://{a}/big.bin"]),
    ("headers", ["-A", "Mozilla/5.0 (X11; Linux x86_64)", "-e", "http://example.com/",
                 "-H", "Accept-Language: en-GB,en;q=0.9", "-H", "Cookie: a=b; c=d",
                 "--compressed", "http://{a}/"]),
    ("options-star", ["-X", "OPTIONS", "--request-target", "*", "http://{a}/"]),
    ("proxy-absolute", ["-x", "http://{a}", "http://example.com/path?x=y"]),
    ("keepalive-two", ["http://{a}/one", "http://{a}/two"]),
    ("delete-close", ["-X", "DELETE", "-H", "Connection: close", "http://{a}/item/7"]),
]


def capture_http(args):
    """Every byte curl sends on its connection(s), with minimal responses."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    srv.settimeout(3)
    addr = "127.0.0.1:%d" % srv.getsockname()[1]
    curl = subprocess.Popen(["curl", "-s", "-o", "/dev/null", "--max-time", "5"]
                            + [a.replace("{a}", addr) for a in args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    got = b""
    try:
        conn, _ = srv.accept()
        conn.settimeout(1.5)
        while True:
            try:
                chunk = conn.recv(65536)
            except socket.timeout:
                # Idle: the request is complete (or curl waits for 100 Continue).
                if not got.endswith(b"\r\n\r\n") or b"Expect:" not in got:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                continue
            if not chunk:
                break
            got += chunk
    except socket.timeout:
        pass
    curl.wait()
    srv.close()
    return got


def http():
    clear("http_request")
    clear("http_headers")
    for name, args in CURL_REQUESTS:
        data = capture_http(args)
        if not data:
            sys.exit(f"curl sent nothing for {name}")
        # First two bytes: the split point (little-endian), here the middle.
        save("http_request", name, struct.pack("<H", len(data) // 2) + data)
        # http_headers: the Range and date values curl sent.
        for line in data.split(b"\r\n"):
            field, _, value = line.partition(b": ")
            if field.lower() == b"range":
                save("http_headers", f"range-{name}", b"\0" + struct.pack("<Q", 1000) + value)
            elif field.lower() in (b"if-modified-since", b"if-unmodified-since", b"if-range"):
                save("http_headers", f"date-{name}", b"\1" + value)
    for i, value in enumerate([b"bytes=-500", b"bytes=100-", b"bytes=0-0,5-9"]):
        save("http_headers", f"range-{i}", b"\0" + struct.pack("<Q", 1000) + value)
    # The other two date forms a recipient must accept (RFC 9110 §5.6.7).
    save("http_headers", "date-rfc850", b"\1Sunday, 06-Nov-94 08:49:37 GMT")
    save("http_headers", "date-asctime", b"\1Sun Nov  6 08:49:37 1994")


# ---------------------------------------------------------------- git

def git(repo, *args, **kw):
    env = dict(os.environ, GIT_AUTHOR_NAME="Seed Author", GIT_AUTHOR_EMAIL="author@example.com",
               GIT_COMMITTER_NAME="Seed Committer", GIT_COMMITTER_EMAIL="committer@example.com",
               GIT_AUTHOR_DATE="1700000000 +0100", GIT_COMMITTER_DATE="1700000000 +0100")
    return subprocess.run(["git", "-C", repo] + list(args), check=True, env=env,
                          capture_output=True, **kw).stdout


def gitrepo():
    for t in ("git_object", "git_pack"):
        clear(t)
    repo = tempfile.mkdtemp(prefix="mirage-fuzz-git-")
    try:
        git(repo, "init", "-q", "-b", "main")
        os.makedirs(os.path.join(repo, "dir/sub"))
        text = "".join(f"line {i} of a file that changes a little\n" for i in range(60))
        for i in range(3):
            with open(os.path.join(repo, "file.txt"), "w") as f:
                f.write(text.replace(f"line {i * 7} ", f"changed {i} "))
            with open(os.path.join(repo, "dir/sub/deep.md"), "w") as f:
                f.write(f"# version {i}\n")
            with open(os.path.join(repo, "script.sh"), "w") as f:
                f.write("#!/bin/sh\necho hi\n")
            os.chmod(os.path.join(repo, "script.sh"), 0o755)
            if i == 1:
                os.symlink("file.txt", os.path.join(repo, "link"))
            git(repo, "add", "-A")
            git(repo, "commit", "-q", "-m", f"commit {i}\n\nwith a body line")
        git(repo, "merge", "-q", "--no-ff", "-m", "merge with two parents",
            git(repo, "commit-tree", "HEAD^{tree}", "-p", "HEAD~1", "-m", "side").decode().strip())
        git(repo, "tag", "-a", "v1", "-m", "an annotated tag")
        ids = git(repo, "rev-list", "--objects", "--all").decode().split("\n")
        ids = [line.split(" ")[0] for line in ids if line]
        ids.append(git(repo, "rev-parse", "v1").decode().strip())
        seen = set()
        for oid in ids:
            kind = git(repo, "cat-file", "-t", oid).decode().strip()
            body = git(repo, "cat-file", kind, oid)
            if kind == "blob" and kind in seen:
                continue
            seen.add(kind)
            loose = os.path.join(repo, ".git/objects", oid[:2], oid[2:])
            with open(loose, "rb") as f:
                save("git_object", f"loose-{kind}-{oid[:8]}", b"\0" + f.read())
            pick = {"tree": b"\1", "commit": b"\2", "tag": b"\3"}.get(kind)
            if pick:
                save("git_object", f"raw-{kind}-{oid[:8]}", pick + body)
        # Packs: offset deltas with a v2 index, reference deltas, and a v1 index.
        revs = "\n".join(ids).encode() + b"\n"
        for name, opts in [("ofs-delta-idx2", []),
                           ("ref-delta-idx2", ["--no-delta-base-offset"]),
                           ("ofs-delta-idx1", ["--index-version=1"])]:
            out = os.path.join(repo, "p-" + name)
            sha = git(repo, "pack-objects", "-q", "--window=10", "--depth=5", *opts, out,
                      input=revs).decode().strip()
            with open(f"{out}-{sha}.idx", "rb") as f:
                idx = f.read()
            with open(f"{out}-{sha}.pack", "rb") as f:
                pack = f.read()
            save("git_pack", name, struct.pack("<I", len(idx)) + idx + pack)
            # git_pack_verify: the pack without its trailing checksum.
            save("git_pack_verify", name, pack[:-20])
            if name == "ofs-delta-idx2":
                for i, (base, delta) in enumerate(pack_deltas(repo, f"{out}-{sha}.idx", pack)[:4]):
                    save("git_delta", f"delta-{i}", struct.pack("<H", len(base)) + base + delta)
        protocol(repo, ids)
        refs(repo)
    finally:
        shutil.rmtree(repo, ignore_errors=True)


def pack_deltas(repo, idx_path, pack):
    """(base, delta) pairs for the deltas `git verify-pack` lists."""
    out = []
    for line in git(repo, "verify-pack", "-v", idx_path).decode().splitlines():
        f = line.split()
        if len(f) != 7 or not f[3].isdigit():
            continue
        _, _, _, in_pack, offset, _, base = f
        entry = pack[int(offset):int(offset) + int(in_pack)]
        pos = 1
        while entry[pos - 1] & 0x80:
            pos += 1
        if (entry[0] >> 4) & 7 == 6:
            pos += 1
            while entry[pos - 1] & 0x80:
                pos += 1
        else:
            pos += 20
        kind = git(repo, "cat-file", "-t", base).decode().strip()
        out.append((git(repo, "cat-file", kind, base), zlib.decompress(entry[pos:])))
    return out


def refs(repo):
    """git_refs seeds: 0 = packed-refs, 1 = a loose ref file, 2 = a name."""
    clear("git_refs")
    git(repo, "branch", "feature/x")
    git(repo, "pack-refs", "--all")
    with open(os.path.join(repo, ".git/packed-refs"), "rb") as f:
        save("git_refs", "packed-refs", b"\0" + f.read())
    git(repo, "branch", "loose")
    with open(os.path.join(repo, ".git/refs/heads/loose"), "rb") as f:
        save("git_refs", "loose-id", b"\1" + f.read())
    with open(os.path.join(repo, ".git/HEAD"), "rb") as f:
        save("git_refs", "loose-symbolic", b"\1" + f.read())
    for name in ("refs/heads/main", "refs/tags/v1", "refs/heads/feature/x", "HEAD"):
        save("git_refs", "name-" + name.replace("/", "-"), b"\2" + name.encode())


def pkt(data):
    if isinstance(data, str):
        data = data.encode()
    return b"%04x" % (len(data) + 4) + data


def protocol(repo, ids):
    """Real server output of git upload-pack / receive-pack for the protocol targets."""
    for t in ("pkt_line", "git_protocol"):
        clear(t)
    gitdir = os.path.join(repo, ".git")
    v2 = dict(os.environ, GIT_PROTOCOL="version=2")
    def run(cmd, stdin=b"", env=None):
        return subprocess.run(cmd, input=stdin, env=env, check=True, capture_output=True).stdout
    head = git(repo, "rev-parse", "HEAD").decode().strip()
    streams = {
        "v2-capabilities": (0, run(["git", "upload-pack", "--advertise-refs", "--stateless-rpc",
                                    gitdir], env=v2)),
        "v2-ls-refs": (1, run(["git", "upload-pack", "--stateless-rpc", gitdir],
                              pkt("command=ls-refs\n") + b"0001" + pkt("peel\n") + pkt("symrefs\n")
                              + pkt("unborn\n") + pkt("ref-prefix refs/\n") + pkt("ref-prefix HEAD\n")
                              + b"0000", env=v2)),
        "v2-fetch": (2, run(["git", "upload-pack", "--stateless-rpc", gitdir],
                            pkt("command=fetch\n") + pkt("object-format=sha1\n") + b"0001"
                            + pkt("thin-pack\n") + pkt("ofs-delta\n") + pkt(f"want {head}\n")
                            + pkt("done\n") + b"0000", env=v2)),
        "v0-receive-pack-advertisement": (3, run(["git", "receive-pack", "--advertise-refs",
                                                  "--stateless-rpc", gitdir])),
    }
    empty_pack = b"PACK\0\0\0\2\0\0\0\0"
    empty_pack += hashlib.sha1(empty_pack).digest()
    for name, caps in (("report-status-sideband", " report-status side-band-64k"),
                       ("report-status", " report-status")):
        out = run(["git", "receive-pack", "--stateless-rpc", gitdir],
                  pkt(f"{'0' * 40} {head} refs/heads/{name}\0{caps.strip()} agent=seed\n")
                  + b"0000" + empty_pack)
        streams[name] = ((0x80 | 5) if "sideband" in name else 5, out)
        if "sideband" in name:
            streams["sideband"] = (4, out)
    # git_http_head: response heads (without the blank line) as a smart-HTTP
    # server sends them, with the content types git http-backend uses.
    clear("git_http_head")
    heads = {
        "advertisement-chunked": "HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement"
                                 "\r\nCache-Control: no-cache\r\nTransfer-Encoding: chunked",
        "result-length": "HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-result"
                         "\r\nContent-Length: 3019",
        "http10-eof": "HTTP/1.0 200 OK\r\nContent-Type: application/x-git-receive-pack-result",
        "not-found": "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 0",
    }
    for name, head in heads.items():
        save("git_http_head", name, head.encode())
    for name, (pick, data) in streams.items():
        save("git_protocol", name, bytes([pick]) + data)
        if name != "sideband":
            # pkt_line: first byte is the read size; 0 reads as much as fits.
            save("pkt_line", name, b"\0" + data)
            save("pkt_line", name + "-reads-of-7", b"\7" + data)


# ---------------------------------------------------------------- Xen

def xs(ty, payload, req_id=1, tx_id=0):
    return struct.pack("<IIII", ty, req_id, tx_id, len(payload)) + payload


def xen():
    """XenStore replies and ring scripts, built to io/xs_wire.h and io/ring.h
    (no Xen host is at hand to capture from)."""
    for t in ("xenstore", "xen_ring"):
        clear(t)
    replies = {
        "read": xs(2, b"4", 7),
        "directory": xs(1, b"backend\0device\0state\0", 8),
        "get-perms": xs(3, b"n0\0r1\0b2\0w3\0", 9),
        "transaction-start": xs(6, b"12\0", 10),
        "write-ok-in-transaction": xs(11, b"OK\0", 11, 12),
        "error-enoent": xs(16, b"ENOENT\0", 12),
        "error-eagain": xs(16, b"EAGAIN\0", 13, 12),
        "watch-event": xs(15, b"device/vif/0/state\0token-1\0", 0),
        "get-domain-path": xs(10, b"/local/domain/7\0", 14),
    }
    stream = b"".join(replies.values())
    replies["pipelined"] = stream
    for name, data in replies.items():
        # First two bytes: the split point, here the middle.
        save("xenstore", name, struct.pack("<H", len(data) // 2) + data)
    def op(code, value):
        return struct.pack("<BI", code, value)
    scripts = {
        # Frontend: push three requests, publish, the peer answers two, take them.
        "front-answered": b"\0" + struct.pack("<I", 0) + op(2, 1) + op(2, 2) + op(2, 3) + op(3, 0)
                          + op(1, 2) + op(4, 0) + op(4, 0) + op(4, 0) + op(6, 0),
        # Frontend near the u32 wrap-around, the peer overruns.
        "front-wrap-overrun": b"\0" + struct.pack("<I", 0xFFFFFFFE) + op(2, 1) + op(3, 0)
                              + op(0 | (1 << 3), 5) + op(4, 0) + op(7, 0),
        # Backend: the peer publishes three requests, take and answer them.
        "back-answered": b"\1" + struct.pack("<I", 0) + op(1, 3) + op(2, 0) + op(2, 0) + op(2, 0)
                         + op(4, 9) + op(4, 9) + op(4, 9) + op(5, 0) + op(6, 0),
        # Backend: the peer claims far more requests than slots.
        "back-overrun": b"\1" + struct.pack("<I", 7) + op(0, 4000) + op(2, 0) + op(7, 0),
    }
    for name, data in scripts.items():
        save("xen_ring", name, data)


if __name__ == "__main__":
    for tool in ("dig", "nsd", "curl", "git"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is needed")
    dns()
    http()
    gitrepo()
    xen()
