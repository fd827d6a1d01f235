#!/bin/bash
# linkcheck.sh - taskfarm linkcheck finds exactly the dead links of a site
# served on 127.0.0.1, each URL once, for any number of workers and either
# transport; file mode, the crawl bounds, the joblog and bad input
#
# Usage: bash tests/e2e/linkcheck.sh path/to/taskfarm   (or TASKFARM=...)
#
# The site, generated in $W/site and served by a private nginx
# (scripts/httpd.sh), holds working links, missing files, a redirect chain,
# a redirect loop, a redirect to file:, a 500, a page that answers HEAD with
# 405, a page of 5,000 links (1,000 in a sanitized build), one URL written
# a dozen different ways, every tag the spec names, and links that must not
# be followed (mailto:, javascript:, comments, <script>, attributes that
# only look like href).
# A second server (linkcheck-server.py beside this script) plays the cases
# nginx cannot: a page that never answers, one that hangs up, and 10 GiB
# bodies. The script computes from the site it generated which URLs a crawl
# must report, which of them are dead, their depth and the pages they are
# found on (the model in $W/model.json, written by $W/lc.py gen), and every
# run's --format jsonl output is compared with it ($W/lc.py jsonl ...).
# Only 127.0.0.1 is ever contacted. The MPI runs are skipped (and reported
# as such) without mpirun or without MPI in taskfarm; the whole script is
# skipped without nginx or python3.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init "$@"

HERE=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
TOP=$(CDPATH='' cd -- "$HERE/../.." && pwd)
HTTPD=$TOP/scripts/httpd.sh
if ! command -v python3 > /dev/null 2>&1; then
    e2e_skip_all "python3 not found"
fi
if ! command -v nginx > /dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
    e2e_skip_all "nginx not found (scripts/install-deps.sh --test installs it)"
fi

PY_PID=
# shellcheck disable=SC2317 # called from the EXIT trap
servers_down()
{
    bash "$HTTPD" stop "$W/httpd" > /dev/null 2>&1
    if [ -n "$PY_PID" ]; then
        kill "$PY_PID" 2> /dev/null
        wait "$PY_PID" 2> /dev/null
        PY_PID=
    fi
}
trap 'servers_down; e2e_cleanup' EXIT

TFQ=$(q "$TF")
mpi_init

# free_port - a TCP port of 127.0.0.1 that nothing listens on just now.
free_port()
{
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# ---------------------------------------------------------------- lc.py
# The site generator, its model of what a crawl must find, and the checks
# of taskfarm's output against that model.
cat > "$W/lc.py" << 'PYEOF'
"""lc.py - site, model and output checks for tests/e2e/linkcheck.sh.

  lc.py gen W NGINX_PORT PY_PORT CLOSED_PORT N writes W/site (many.html
                                               has N links), W/site.conf
                                               and W/model.json
  lc.py jsonl OUT DEPTH [--dead-only]   OUT (--format jsonl) is a crawl of
                                        W/site/index.html with --max-depth
                                        DEPTH (0 also stands for
                                        --max-pages 1)
  lc.py table OUT DEPTH [--dead-only]   the same for the table format
  lc.py parsed OUT N                    OUT has exactly N parsed pages
  lc.py file OUT NAME                   OUT is the check of W/urls.txt given
                                        as NAME
  lc.py joblog JOBLOG OUT               JOBLOG has one line per URL of OUT
  lc.py summary ERR OUT WORKERS BACKEND the summary line on stderr
  lc.py big OUT                         OUT is the crawl of PY/big.html
  lc.py same OUT1 OUT2                  two outputs agree but for timing
  lc.py get URL STATUS                  a GET of URL answers STATUS
W is the folder that holds lc.py. Each check prints what is wrong and
exits 1, or exits 0.
"""
import json
import os
import re
import sys

W = os.path.dirname(os.path.abspath(__file__))
FAIL = []


def fail(msg):
    FAIL.append(msg)


def done():
    for m in FAIL[:25]:
        print(m)
    if len(FAIL) > 25:
        print("... and %d more" % (len(FAIL) - 25))
    sys.exit(1 if FAIL else 0)


# ------------------------------------------------------------------ gen
def gen(w, p, q, cp, nlinks):
    site = os.path.join(w, "site")
    B = "http://127.0.0.1:%s" % p
    Y = "http://127.0.0.1:%s" % q
    C = "http://127.0.0.1:%s/" % cp
    pages = {}  # key -> link keys, for every same-site page that is parsed
    expect = {}  # key -> what its record must say
    alias = {}  # the final URL of a redirected page -> its key

    def write(path, text):
        full = os.path.join(site, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)

    def page(path, parts, key=None, head=""):
        """parts: (html, key of the link or None when it must be ignored)"""
        body = "\n".join(h for h, _ in parts)
        write(path, "<!DOCTYPE html>\n<html><head><title>%s</title>%s"
              "</head><body>\n%s\n</body></html>\n" % (path, head, body))
        pages[key or B + "/" + path] = [k for _, k in parts if k]

    def dead(key, status=None, error=None):
        expect[key] = {"ok": False, "status": status, "error": error}

    def ok(key, **kw):
        kw["ok"] = True
        expect[key] = kw

    nx = B + "/nx.html"
    index = [
        ('<a href="a.html">a</a>', B + "/a.html"),
        ('<a href="many.html">many</a>', B + "/many.html"),
        ('<a href="tags.html">tags</a>', B + "/tags.html"),
        ('<a href="base.html">base</a>', B + "/base.html"),
        ('<a href="/r1">redirect chain</a>', B + "/r1"),
        ('<a href="/rsub">redirect into sub/</a>', B + "/rsub"),
        ('<a href="/head405">no HEAD</a>', B + "/head405"),
        ('<img src="img.png" alt="">', B + "/img.png"),
        ('<a href="missing1.html">missing</a>', B + "/missing1.html"),
        # one URL, many ways
        ('<a href="nx.html">1</a>', nx),
        ('<a href="./nx.html">2</a>', nx),
        ('<a href="/nx.html#frag">3</a>', nx),
        ('<a href="/x/../nx.html">4</a>', nx),
        ('<a href="HTTP://127.0.0.1:%s/nx.html">5</a>' % p, nx),
        ('<a href="//127.0.0.1:%s/nx.html">6</a>' % p, nx),
        ('<a href="http://127.0.0.1:%s/%%6Ex.html">7</a>' % p, nx),
        ('<a href="n&#120;.html">8</a>', nx),
        ('<a href="&#x6e;x.html">9</a>', nx),
        ("<a href='nx.html'>10</a>", nx),
        ("<a href=nx.html>11</a>", nx),
        ('<A HREF="nx.html#">12</A>', nx),
        ('<a href="http://127.0.0.1:%s/./sub/../nx.html">13</a>' % p, nx),
        # ... and what is not the same URL
        ('<a href="nx.html?q=1">query</a>', nx + "?q=1"),
        ('<a href="nx.html?a=1&amp;b=2">entity in query</a>',
         nx + "?a=1&b=2"),
        ('<a href="/q%3fa.html">escape</a>', B + "/q%3Fa.html"),
        ('<a href="/q%3Fa.html">escape</a>', B + "/q%3Fa.html"),
        ('<a href="/%7Euser.html">tilde</a>', B + "/~user.html"),
        ('<a href="/~user.html">tilde</a>', B + "/~user.html"),
        ('<a href="/loop1">loop</a>', B + "/loop1"),
        ('<a href="/tofile">to file:</a>', B + "/tofile"),
        ('<a href="/err500">500</a>', B + "/err500"),
        ('<a href="%s/hang">hangs</a>' % Y, Y + "/hang"),
        ('<a href="%s/drop">hangs up</a>' % Y, Y + "/drop"),
        ('<a href="%s/big">10 GiB</a>' % Y, Y + "/big"),
        ('<a href="%s/head405">no HEAD</a>' % Y, Y + "/head405"),
        ('<a href="%s/head501">no HEAD</a>' % Y, Y + "/head501"),
        ('<a href="x.xhtml">XHTML</a>', B + "/x.xhtml"),
        ('<a href="plain.txt">text</a>', B + "/plain.txt"),
        ('<a href="%s">closed port</a>' % C, C),
        ('<a href="ftp://127.0.0.1/file.txt">ftp</a>',
         "ftp://127.0.0.1/file.txt"),
        ('<a href="http://[::1">invalid</a>', "http://[::1"),
        # ignored
        ('<a href="mailto:someone@example.com">mail</a>', None),
        ('<a href="MAILTO:someone@example.com">mail</a>', None),
        ('<a href="javascript:void(0)">js</a>', None),
        ('<a href="JavaScript:alert(1)">js</a>', None),
        ('<a href="tel:+15551234">tel</a>', None),
        ('<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" alt="">',
         None),
        ('<iframe src="about:blank"></iframe>', None),
        ('<a href="#top">top</a>', None),
        ('<a href="">empty</a>', None),
        ('<a name="anchor">no href</a>', None),
    ]
    page("index.html", index)
    # XHTML is parsed, text is not, whatever it holds.
    write("x.xhtml", '<?xml version="1.0" encoding="UTF-8"?>\n'
          '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title>'
          '</head><body><a href="t-xhtml.html">x</a></body></html>\n')
    pages[B + "/x.xhtml"] = [B + "/t-xhtml.html"]
    dead(B + "/t-xhtml.html", status=404)
    write("plain.txt", '<a href="n-plain.html">not HTML</a>\n')
    ok(B + "/plain.txt", status=200, parsed=False)
    page("a.html", [('<a href="index.html">home</a>', B + "/index.html"),
                    ('<a href="nx.html">nx</a>', nx)])
    many = []
    for n in range(1, nlinks + 1):
        many.append(('<a href="p/%d.html">%d</a>' % (n, n),
                     B + "/p/%d.html" % n))
        if n % 250 == 0:
            dead(B + "/p/%d.html" % n, status=404)
            continue
        links = [('<a href="../a.html">a</a>', B + "/a.html"),
                 ('<a href="../index.html">home</a>', B + "/index.html"),
                 ('<a href="../p-missing.html">gone</a>',
                  B + "/p-missing.html")]
        if n == 7:
            links.append(('<a href="deep-missing.html">deeper</a>',
                          B + "/p/deep-missing.html"))
        page("p/%d.html" % n, links)
    page("many.html", many)
    tags = [('<a href="a.html">a</a>', B + "/a.html")]
    for html, name in [
            ('<A HREF="%s">caps</A>', "t-a-caps.html"),
            ("<a href=%s>unquoted</a>", "t-unq.html"),
            ("<a href='%s'>single</a>", "t-sq.html"),
            ('<a\nclass="x"\nhref="%s">newlines</a>', "t-nl.html"),
            ('<map name="m"><area shape="rect" coords="0,0,1,1" href="%s">'
             "</map>", "t-area.html"),
            ('<link rel="stylesheet" href="%s">', "t-link.css"),
            ('<img src="%s" alt="">', "t-img.png"),
            ('<script src="%s"></script>', "t-script.js"),
            ('<iframe src="%s"></iframe>', "t-iframe.html"),
            ('<frameset><frame src="%s"></frameset>', "t-frame.html"),
            ('<video><source src="%s"></video>', "t-source.mp4"),
            ('<embed src="%s">', "t-embed.swf"),
            ('<audio src="%s"></audio>', "t-audio.ogg"),
            ('<video src="%s"></video>', "t-video.mp4")]:
        tags.append((html % name, B + "/" + name))
        dead(B + "/" + name, status=404)
    tags += [
        ('<!-- <a href="n-comment.html">in a comment</a> -->', None),
        ("<script>document.write('<a href=\"n-script.html\">x</a>');"
         "</script>", None),
        ('<SCRIPT type="text/javascript">var s = \'<img src="n-script2.png">'
         "';</SCRIPT>", None),
        ('<style>/* <a href="n-style.html"> */ p { color: red }</style>',
         None),
        ('<div href="n-div.html">a div has no links</div>', None),
        ('<img href="n-imghref.png" alt="">', None),
        ('<a xhref="n-xhref.html">not href</a>', None),
        ('<a title=\'href="n-title.html"\'>in a value</a>', None),
        ('<p>href="n-text.html" in the text</p>', None),
    ]
    page("tags.html", tags)
    page("base.html", [('<a href="ok2.html">ok2</a>', B + "/sub/ok2.html")],
         head='<base href="/sub/">')
    page("sub/page.html", [('<a href="ok2.html">ok2</a>',
                            B + "/sub/ok2.html")], key=B + "/rsub")
    page("sub/ok2.html", [])
    page("final.html", [('<a href="index.html">home</a>', B + "/index.html"),
                        ('<a href="a.html">a</a>', B + "/a.html")],
         key=B + "/r1")
    alias[B + "/final.html"] = B + "/r1"
    alias[B + "/sub/page.html"] = B + "/rsub"
    pages[B + "/head405"] = []
    with open(os.path.join(site, "img.png"), "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)

    ok(B + "/index.html", status=200, method="GET", parsed=True)
    ok(B + "/r1", status=200, final_url=B + "/final.html", redirects=2)
    ok(B + "/rsub", status=200, final_url=B + "/sub/page.html",
       redirects=1)
    ok(B + "/head405", status=200)
    ok(B + "/img.png", status=200, parsed=False)
    ok(Y + "/big", status=200, method="GET", parsed=False)
    ok(Y + "/head405", status=200, method="GET", parsed=False)
    ok(Y + "/head501", status=200, method="GET", parsed=False)
    for k in ["/missing1.html", "/q%3Fa.html", "/~user.html",
              "/p-missing.html", "/p/deep-missing.html"]:
        dead(B + k, status=404)
    for k in [nx, nx + "?q=1", nx + "?a=1&b=2"]:
        dead(k, status=404)
    dead(B + "/err500", status=500)
    dead(B + "/loop1", error="")
    # (where the refused redirect pointed or the URL itself: either is the
    # final URL)
    dead(B + "/tofile", error="")
    expect[B + "/tofile"]["final_url"] = "*"
    dead(Y + "/hang", status=0, error="")
    dead(Y + "/drop", status=0, error="")
    dead(C, status=0, error="")
    # Another scheme is skipped, never requested.
    ok("ftp://127.0.0.1/file.txt", status=0, skip="scheme ftp: not checked")
    dead("http://[::1", status=0, error="^invalid URL: ")

    with open(os.path.join(w, "site.conf"), "w") as f:
        f.write("""# the fixed locations of the test site
location = /r1     { return 302 /r2; }
location = /r2     { return 301 /final.html; }
location = /rsub   { return 302 /sub/page.html; }
location = /loop1  { return 302 /loop2; }
location = /loop2  { return 302 /loop1; }
location = /tofile { return 302 file:///etc/passwd; }
location = /err500 { return 500; }
location = /head405 {
    if ($request_method = HEAD) { return 405; }
    default_type text/html;
    return 200 "<html><body>GET only</body></html>\\n";
}
""")
    model = {"B": B, "Y": Y, "C": C, "start": B + "/index.html",
             "pages": pages, "expect": expect, "alias": alias}
    with open(os.path.join(w, "model.json"), "w") as f:
        json.dump(model, f, indent=1, sort_keys=True)


# ---------------------------------------------------------------- model
def model():
    with open(os.path.join(W, "model.json")) as f:
        return json.load(f)


def crawl(m, max_depth):
    """What a crawl from m["start"] must find: {url: depth}, and for each
    url the set of pages it is found on."""
    depth = {m["start"]: 0}
    found = {m["start"]: set()}
    queue = [m["start"]]
    i = 0
    while i < len(queue):
        pg = queue[i]
        i += 1
        if depth[pg] > max_depth or pg not in m["pages"]:
            continue
        for link in m["pages"][pg]:
            if link not in depth:
                depth[link] = depth[pg] + 1
                found[link] = set()
                queue.append(link)
            found[link].add(pg)
    return depth, found


def is_dead(m, url):
    e = m["expect"].get(url)
    return e is not None and not e["ok"]


def load_jsonl(path):
    recs = []
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        fail("%s: the last line has no newline" % path)
    for n, line in enumerate(data.splitlines(), 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            fail("%s:%d: not JSON (%s): %r" % (path, n, e, line[:200]))
            continue
        if not isinstance(obj, dict):
            fail("%s:%d: not an object" % (path, n))
            continue
        recs.append(obj)
    return recs


TYPES = {"url": str, "result": str, "ok": bool, "status": int,
         "final_url": str, "warnings": list, "skip": (str, type(None)),
         "time": (int, float), "size": int, "error": (str, type(None)),
         "redirects": int, "method": str, "parsed": bool, "depth": int,
         "found_on": list, "found_on_count": int}


def check_records(recs, path):
    """The form every record must have; returns {url: record}."""
    by = {}
    urls = []
    for r in recs:
        for k, t in TYPES.items():
            if k not in r:
                fail("%s: %s: no %r" % (path, r.get("url"), k))
            elif k == "method" and r[k] is None:
                pass  # checked below
            elif not isinstance(r[k], t) or (t is int and
                                               isinstance(r[k], bool)):
                fail("%s: %s: %r is %r" % (path, r.get("url"), k, r[k]))
        u = r.get("url")
        if not isinstance(u, str):
            continue
        urls.append(u)
        # The result agrees with ok, the error, the skip and the warnings.
        want = ("dead" if r.get("ok") is False else
                "skipped" if r.get("skip") is not None else
                "warning" if r.get("warnings") else "ok")
        if r.get("result") != want:
            fail("%s: %s: result %r, expected %r" % (path, u, r.get("result"),
                                                     want))
        if u in by:
            fail("%s: %s appears twice" % (path, u))
        by[u] = r
        # A URL that never reached libcurl (a scheme not allowed, a URL
        # that does not parse) was not requested by any method.
        never = r.get("skip") is not None or (
            isinstance(r.get("error"), str) and
            r["error"].startswith(("protocol not allowed: ", "invalid URL: ")))
        if r.get("method") not in ("HEAD", "GET") and not (
                never and r.get("method") is None):
            fail("%s: %s: method %r" % (path, u, r.get("method")))
        if r.get("ok") is True and r.get("error") is not None:
            fail("%s: %s: ok with error %r" % (path, u, r.get("error")))
        st = r.get("status")
        if isinstance(st, int) and r.get("ok") is True and st >= 400:
            fail("%s: %s: ok with status %d" % (path, u, st))
        if isinstance(r.get("found_on"), list):
            fo = r["found_on"]
            if len(fo) > 100:
                fail("%s: %s: %d found_on, more than 100" % (path, u, len(fo)))
            if len(set(fo)) != len(fo):
                fail("%s: %s: found_on has duplicates: %s" % (path, u, fo[:5]))
    enc = [u.encode() for u in urls]
    if enc != sorted(enc):
        fail("%s: the URLs are not sorted in byte order" % path)
    return by


def diff_sets(what, got, want):
    extra = sorted(set(got) - set(want))
    missing = sorted(set(want) - set(got))
    if extra:
        fail("%s: %d unexpected: %s" % (what, len(extra), " ".join(extra[:8])))
    if missing:
        fail("%s: %d missing: %s" % (what, len(missing), " ".join(missing[:8])))


def check_error(u, spec, got, path):
    if spec is None:
        return
    if not isinstance(got, str) or not got:
        fail("%s: %s: error %r, expected a message" % (path, u, got))
    elif spec.startswith("=") and got != spec[1:]:
        fail("%s: %s: error %r, expected %r" % (path, u, got, spec[1:]))
    elif spec.startswith("^") and not got.startswith(spec[1:]):
        fail("%s: %s: error %r, expected %r..." % (path, u, got, spec[1:]))


def cmd_jsonl(out, max_depth, dead_only):
    m = model()
    by = check_records(load_jsonl(out), out)
    depth, found = crawl(m, max_depth)
    want = sorted(u for u in depth if not dead_only or is_dead(m, u))
    diff_sets("%s: URLs" % out, by, want)
    diff_sets("%s: dead URLs" % out,
              [u for u, r in by.items() if r.get("ok") is False],
              [u for u in depth if is_dead(m, u)])
    alias = m["alias"]
    for u, r in by.items():
        if u not in depth:
            continue
        if r.get("depth") != depth[u]:
            fail("%s: %s: depth %r, expected %d" % (out, u, r.get("depth"),
                                                    depth[u]))
        fo = r.get("found_on") or []
        named = set(alias.get(x, x) for x in fo)
        if not named <= found[u]:
            fail("%s: %s: found_on names pages it is not on: %s"
                 % (out, u, sorted(named - found[u])[:5]))
        if len(fo) != min(100, len(found[u])):
            fail("%s: %s: %d found_on, expected %d (%s)"
                 % (out, u, len(fo), min(100, len(found[u])),
                    " ".join(sorted(found[u])[:3])))
        if r.get("found_on_count") != len(found[u]):
            fail("%s: %s: found_on_count %r, expected %d"
                 % (out, u, r.get("found_on_count"), len(found[u])))
        e = m["expect"].get(u, {"ok": True})
        if r.get("ok") != e["ok"]:
            fail("%s: %s: ok %r, expected %r (status %r, error %r)"
                 % (out, u, r.get("ok"), e["ok"], r.get("status"),
                    r.get("error")))
        for k in ("status", "method", "final_url", "redirects", "parsed"):
            if e.get(k) not in (None, "*") and r.get(k) != e[k]:
                fail("%s: %s: %s %r, expected %r" % (out, u, k, r.get(k), e[k]))
        check_error(u, e.get("error"), r.get("error"), out)
        if r.get("skip") != e.get("skip"):
            fail("%s: %s: skip %r, expected %r" % (out, u, r.get("skip"),
                                                    e.get("skip")))
        # A same-site page within the depth is fetched with GET and
        # parsed; beyond it, a URL is only checked.
        if u in m["pages"] and e["ok"]:
            if depth[u] <= max_depth and r.get("parsed") is not True:
                fail("%s: %s: not parsed (depth %d)" % (out, u, depth[u]))
            if depth[u] > max_depth and r.get("parsed") is not False:
                fail("%s: %s: parsed at depth %d" % (out, u, depth[u]))
            if depth[u] <= max_depth and r.get("method") != "GET":
                fail("%s: %s: method %r for a page" % (out, u,
                                                       r.get("method")))
        if (r.get("ok") is True and r.get("status") != 200 and
                r.get("skip") is None):
            fail("%s: %s: ok with status %r" % (out, u, r.get("status")))
        if e.get("final_url") != "*" and r.get("final_url") != e.get(
                "final_url", u):
            fail("%s: %s: final_url %r" % (out, u, r.get("final_url")))
    done()


ROW = re.compile(r"^(ok|warn|dead|skip) +(\d{3}|---) +(\d+\.\d{3}) +(\d+)  (\S+)"
                 r"(?:  -> (\S+))?(?:  \((.*)\))?$")


def cmd_table(out, max_depth, dead_only):
    m = model()
    depth, found = crawl(m, max_depth)
    with open(out, "rb") as f:
        lines = f.read().decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or not re.match(r"^RESULT +CODE +TIME_S +BYTES +URL$",
                                 lines[0]):
        fail("%s: line 1 is not the header: %r" % (out, lines[:1]))
    rows = {}
    order = []
    cur = None
    for n, line in enumerate(lines[1:], 2):
        mo = ROW.match(line)
        if mo:
            u = mo.group(5)
            if u in rows:
                fail("%s:%d: %s appears twice" % (out, n, u))
            cur = {"result": mo.group(1), "code": mo.group(2),
                   "final": mo.group(6), "error": mo.group(7),
                   "found": [], "more": None, "warnings": []}
            rows[u] = cur
            order.append(u)
            continue
        mo = re.match(r"^      warning: (.+)$", line)
        if mo and cur is not None and cur["result"] == "warn":
            cur["warnings"].append(mo.group(1))
            continue
        mo = re.match(r"^      found on (\S+)$", line)
        if mo and cur is not None and cur["more"] is None:
            cur["found"].append(mo.group(1))
            continue
        mo = re.match(r"^      \.\.\. and (\d+) more$", line)
        if mo and cur is not None and cur["more"] is None:
            cur["more"] = int(mo.group(1))
            continue
        fail("%s:%d: not a table line: %r" % (out, n, line[:200]))
    enc = [u.encode() for u in order]
    if enc != sorted(enc):
        fail("%s: the URLs are not sorted in byte order" % out)
    want = [u for u in depth if not dead_only or is_dead(m, u)]
    diff_sets("%s: URLs" % out, rows, want)
    diff_sets("%s: dead URLs" % out,
              [u for u, r in rows.items() if r["result"] == "dead"],
              [u for u in depth if is_dead(m, u)])
    alias = m["alias"]
    for u, r in rows.items():
        if u not in depth:
            continue
        e = m["expect"].get(u, {"ok": True})
        st = e.get("status")
        if st is not None and r["code"] != ("---" if st == 0 else str(st)):
            fail("%s: %s: CODE %s, expected %s" % (out, u, r["code"], st))
        if e.get("final_url") != "*" and r["final"] != e.get("final_url"):
            fail("%s: %s: -> %r, expected %r" % (out, u, r["final"],
                                                 e.get("final_url")))
        spec = e.get("error")
        if spec is not None:
            check_error(u, spec, r["error"], out)
        if r["result"] == "warn" and not r["warnings"]:
            fail("%s: %s: a warn line without its warnings" % (out, u))
        if r["result"] == "skip":
            if r["found"] or r["more"] is not None or r["error"] != e["skip"]:
                fail("%s: %s: a skip line with found on, or not its reason"
                     % (out, u))
            continue
        if r["result"] in ("ok", "warn"):
            if r["found"] or r["more"] is not None or r["error"]:
                fail("%s: %s: an ok line with found on, more or error" % (out, u))
            continue
        n = len(found[u])
        named = set(alias.get(x, x) for x in r["found"])
        if not named <= found[u]:
            fail("%s: %s: found on names pages it is not on: %s"
                 % (out, u, sorted(named - found[u])[:5]))
        if len(r["found"]) != min(10, n) or len(set(r["found"])) != len(r["found"]):
            fail("%s: %s: %d found on lines, expected %d"
                 % (out, u, len(r["found"]), min(10, n)))
        if (r["more"] or None) != (n - 10 if n > 10 else None):
            fail("%s: %s: '... and %r more', expected %d" % (out, u, r["more"],
                                                             n - 10))
    done()


def cmd_parsed(out, n):
    recs = load_jsonl(out)
    got = [r.get("url") for r in recs if r.get("parsed") is True]
    if len(got) != n:
        fail("%s: %d parsed pages, expected %d: %s" % (out, len(got), n,
                                                      " ".join(got[:5])))
    done()


def cmd_file(out, name):
    m = model()
    B, Y = m["B"], m["Y"]
    by = check_records(load_jsonl(out), out)
    want = {
        B + "/a.html": (True, [2, 4, 12], {"method": "HEAD", "status": 200}),
        B + "/missing1.html": (False, [3], {"status": 404}),
        "http://[::1": (False, [5], {"status": 0, "error": "^invalid URL: "}),
        B + "/head405": (True, [6], {"method": "GET", "status": 200}),
        "ftp://127.0.0.1/file.txt": (False, [7], {
            "status": 0, "error": "=protocol not allowed: ftp"}),
        B + "/r1": (True, [9], {"status": 200, "redirects": 2,
                                "final_url": B + "/final.html"}),
        Y + "/head405": (True, [10], {"method": "GET", "status": 200}),
    }
    diff_sets("%s: URLs" % out, by, want)
    for u, (okv, lines, e) in want.items():
        r = by.get(u)
        if r is None:
            continue
        if r.get("ok") is not okv:
            fail("%s: %s: ok %r, expected %r" % (out, u, r.get("ok"), okv))
        fo = ["%s:%d" % (name, n) for n in lines]
        if sorted(r.get("found_on") or []) != sorted(fo):
            fail("%s: %s: found_on %r, expected %r" % (out, u,
                                                       r.get("found_on"), fo))
        if r.get("found_on_count") != len(fo):
            fail("%s: %s: found_on_count %r, expected %d"
                 % (out, u, r.get("found_on_count"), len(fo)))
        if r.get("depth") != 0 or r.get("parsed") is not False:
            fail("%s: %s: depth %r parsed %r, expected 0 and false"
                 % (out, u, r.get("depth"), r.get("parsed")))
        for k, v in e.items():
            if k == "error":
                check_error(u, v, r.get("error"), out)
            elif r.get(k) != v:
                fail("%s: %s: %s %r, expected %r" % (out, u, k, r.get(k), v))
    done()


def cmd_joblog(jl, out):
    by = {r.get("url"): r for r in load_jsonl(out)}
    with open(jl, "rb") as f:
        lines = f.read().decode().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    head = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand"
    if not lines or lines[0] != head:
        fail("%s: line 1 is %r, not GNU Parallel's header" % (jl, lines[:1]))
    seqs = []
    cmds = []
    for n, line in enumerate(lines[1:], 2):
        f = line.split("\t", 8)
        if len(f) != 9:
            fail("%s:%d: %d fields: %r" % (jl, n, len(f), line[:200]))
            continue
        seq, host, start, runtime, send, recv, code, sig, cmd = f
        cmds.append(cmd)
        if not seq.isdigit():
            fail("%s:%d: Seq %r" % (jl, n, seq))
        else:
            seqs.append(int(seq))
        if not host:
            fail("%s:%d: no Host" % (jl, n))
        if not re.match(r"^\d{10}\.\d{3}$", start):
            fail("%s:%d: Starttime %r" % (jl, n, start))
        if not re.match(r"^ *\d+\.\d{3}$", runtime) or len(runtime) < 10:
            fail("%s:%d: JobRuntime %r is not %%10.3f" % (jl, n, runtime))
        if send != "0" or sig != "0":
            fail("%s:%d: Send %r Signal %r" % (jl, n, send, sig))
        r = by.get(cmd)
        if r is None:
            fail("%s:%d: %r is no URL of %s" % (jl, n, cmd, out))
            continue
        if code != ("0" if r.get("ok") else "1"):
            fail("%s:%d: Exitval %r for %s (ok %r)" % (jl, n, code, cmd,
                                                      r.get("ok")))
        if recv != str(r.get("size")):
            fail("%s:%d: Receive %r, size %r in %s" % (jl, n, recv,
                                                      r.get("size"), out))
    if sorted(seqs) != list(range(1, len(lines))):
        fail("%s: Seq is not 1..%d" % (jl, len(lines) - 1))
    elif seqs != sorted(seqs):
        fail("%s: Seq is not in the order of the lines" % jl)
    diff_sets("%s: URLs" % jl, cmds, by)
    if len(cmds) != len(set(cmds)):
        fail("%s: a URL has two lines" % jl)
    done()


def cmd_summary(err, out, workers, backend):
    recs = load_jsonl(out)
    with open(err) as f:
        lines = f.read().splitlines()
    tf = [l for l in lines if l.startswith("taskfarm")]
    if len(tf) != 1:
        fail("%s: %d lines from taskfarm, expected the summary alone: %r"
             % (err, len(tf), tf[:3]))
    else:
        mo = re.match(r"^taskfarm: linkcheck: (\d+) URLs, (\d+) pages parsed, "
                      r"(\d+) dead, (\d+) with warnings, (\d+) skipped, "
                      r"\d+\.\d{3} s, (\d+) workers \((\w+)\), "
                      r"\d+ URLs/s$", tf[0])
        if mo is None:
            fail("%s: not the summary: %r" % (err, tf[0]))
        else:
            want = (len(recs), sum(1 for r in recs if r.get("parsed") is True),
                    sum(1 for r in recs if r.get("ok") is False),
                    sum(1 for r in recs if r.get("result") == "warning"),
                    sum(1 for r in recs if r.get("result") == "skipped"),
                    int(workers), backend)
            got = (int(mo.group(1)), int(mo.group(2)), int(mo.group(3)),
                   int(mo.group(4)), int(mo.group(5)), int(mo.group(6)),
                   mo.group(7))
            if got != want:
                fail("%s: summary says (URLs, parsed, dead, warnings, "
                     "skipped, workers, backend)"
                     " = %r, the output %r" % (err, got, want))
    done()


def cmd_big(out):
    Y = model()["Y"]
    by = check_records(load_jsonl(out), out)
    diff_sets("%s: URLs" % out, by, [Y + "/big.html", Y + "/small"])
    r = by.get(Y + "/big.html", {})
    if not (r.get("ok") is True and r.get("parsed") is True and
            r.get("status") == 200):
        fail("%s: big.html: ok %r parsed %r status %r error %r" % (
            out, r.get("ok"), r.get("parsed"), r.get("status"),
            r.get("error")))
    if isinstance(r.get("size"), int) and r["size"] > 65536:
        fail("%s: big.html: size %d, more than --max-body 64k" % (out,
                                                                   r["size"]))
    r = by.get(Y + "/small", {})
    if r.get("ok") is not True:
        fail("%s: small: ok %r error %r" % (out, r.get("ok"), r.get("error")))
    done()


def cmd_same(a, b):
    """a and b say the same but for the time, and for which 100 of more
    referrers found_on lists."""
    def norm(path):
        out = []
        for r in load_jsonl(path):
            r = dict(r)
            r.pop("time", None)
            # A check by GET stops reading at --max-body, in whatever
            # piece of the stream that falls.
            if r.get("method") == "GET" and r.get("parsed") is False:
                r.pop("size", None)
            if r.get("found_on_count", 0) > 100:
                r.pop("found_on", None)
            elif isinstance(r.get("found_on"), list):
                r["found_on"] = sorted(r["found_on"])
            out.append(json.dumps(r, sort_keys=True))
        return out
    x, y = norm(a), norm(b)
    if x != y:
        d = [(i, l, r) for i, (l, r) in enumerate(zip(x, y)) if l != r]
        fail("%s and %s differ (%d and %d lines)" % (a, b, len(x), len(y)))
        for i, l, r in d[:3]:
            fail("line %d: %s" % (i + 1, l[:300]))
            fail("     vs: %s" % r[:300])
    done()


def cmd_get(url, status):
    import urllib.error
    import urllib.request
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            got = r.status
    except urllib.error.HTTPError as e:
        got = e.code
    if got != status:
        fail("GET %s: %d, expected %d" % (url, got, status))
    done()


def main():
    a = sys.argv[1:]
    if a[0] == "gen":
        gen(a[1], a[2], a[3], a[4], int(a[5]))
    elif a[0] in ("jsonl", "table"):
        f = cmd_jsonl if a[0] == "jsonl" else cmd_table
        f(a[1], int(a[2]), "--dead-only" in a[3:])
    elif a[0] == "parsed":
        cmd_parsed(a[1], int(a[2]))
    elif a[0] == "file":
        cmd_file(a[1], a[2])
    elif a[0] == "joblog":
        cmd_joblog(a[1], a[2])
    elif a[0] == "summary":
        cmd_summary(a[1], a[2], a[3], a[4])
    elif a[0] == "get":
        cmd_get(a[1], int(a[2]))
    elif a[0] == "same":
        cmd_same(a[1], a[2])
    elif a[0] == "big":
        cmd_big(a[1])
    else:
        sys.exit("lc.py: unknown command %r" % a[0])


main()
PYEOF

# A sanitized build (where every malloc unwinds its stack) runs a crawl some
# 20 times slower: there the big page has 1,000 links, not 5,000. A worker
# parses a page between the steps of its other transfers, so the time the
# big page takes to parse counts against the transfers running beside it:
# there, transfers get 5 s.
NP=5000
MT=2
if ldd "$TF" 2> /dev/null | grep -q -e libasan -e libubsan; then
    NP=1000
    MT=5
    echo "# sanitized build: $NP links on the big page, --max-time $MT"
fi

# ------------------------------------------------------------ the servers
# The misbehaving server picks its own port and prints it; should this
# script be killed before its cleanup, the server ends itself once it sees
# its parent gone (or after 240 s at the latest).
python3 "$HERE/linkcheck-server.py" --port 0 --lifetime 240 \
    > "$W/pyserver.port" 2> "$W/pyserver.err" < /dev/null &
PY_PID=$!
for _ in $(seq 100); do
    [ -s "$W/pyserver.port" ] && break
    sleep 0.05
done
Q=$(head -n 1 "$W/pyserver.port")
CP=$(free_port) # nothing listens there
# The site names nginx's port, so it is generated again when nginx cannot
# have the port chosen.
P=
for _ in 1 2 3; do
    P=$(free_port)
    rm -rf "$W/site"
    python3 "$W/lc.py" gen "$W" "$P" "$Q" "$CP" "$NP" || break
    # (HTTPD_OWNER: nginx goes when this script goes, however it ends)
    if HTTPD_OWNER=$$ bash "$HTTPD" start "$W/httpd" "$W/site" "$P" \
        "$W/site.conf" > "$W/httpd.out" 2>&1; then
        break
    fi
    P=
done
B=http://127.0.0.1:$P
Y=http://127.0.0.1:$Q
check "test -n '$Q' && python3 $W/lc.py get $Y/small 200"
if [ -z "$P" ]; then
    e2e_err "bash $(q "$HTTPD") start $W/httpd $W/site PORT $W/site.conf" \
        "$(cat "$W/httpd.out")"
    e2e_finish
fi
check "python3 $W/lc.py get $B/index.html 200 && python3 $W/lc.py get $B/head405 200 && python3 $W/lc.py get $B/err500 500"
check "test \"\$(grep -c '<a href=\"p/' $W/site/many.html)\" = $NP"

# Every crawl bounds its transfers: the hanging server costs 2 s a run.
T="--max-time $MT --connect-timeout 1"
CRAWL="linkcheck --crawl $B/index.html $T"

# ------------------------------------------------- the same result everywhere
run_cmd 1 "$TFQ -j 1 $CRAWL --format jsonl > $W/j1.out 2> $W/j1.err"
check "python3 $W/lc.py jsonl $W/j1.out 10"
run_cmd 1 "$TFQ -j 2 $CRAWL --format jsonl --joblog $W/j2.joblog > $W/j2.out 2> $W/j2.err"
check "python3 $W/lc.py jsonl $W/j2.out 10"
check "python3 $W/lc.py summary $W/j2.err $W/j2.out 2 fork"
check "python3 $W/lc.py joblog $W/j2.joblog $W/j2.out"
# The output does not depend on the workers but for the timing fields.
check "python3 $W/lc.py same $W/j1.out $W/j2.out"
if mpi_run 1 "$(mpirun_cmd "-np 3" $CRAWL --format jsonl) > $W/mpi.out 2> $W/mpi.err"; then
    check "python3 $W/lc.py jsonl $W/mpi.out 10"
    check "python3 $W/lc.py summary $W/mpi.err $W/mpi.out 2 mpi"
    check "python3 $W/lc.py same $W/j1.out $W/mpi.out"
fi
run_cmd 1 "$TFQ -j 2 $CRAWL > $W/table.out 2> $W/table.err"
check "python3 $W/lc.py table $W/table.out 10"
# --sitemap: the pages parsed with a 2xx answer, each once, as XML (the
# site's style sheets are parsed too, but are no pages); on a
# full disk or in a folder that is not there, one line naming the file,
# exit status 3, no report and no file left half written.
run_cmd 1 "$TFQ -j 2 $CRAWL --format jsonl --sitemap $W/sitemap.xml > $W/sm.out"
check "python3 -c 'import json, sys, xml.etree.ElementTree as E
ns = \"{http://www.sitemaps.org/schemas/sitemap/0.9}\"
locs = [e.text for e in E.parse(sys.argv[1]).getroot().iter(ns + \"loc\")]
recs = [json.loads(l) for l in open(sys.argv[2])]
want = sorted(set(r[\"final_url\"] for r in recs if r[\"parsed\"] and 200 <= r[\"status\"] < 300 and not r[\"final_url\"].endswith(\".css\")))
sys.exit(0 if locs == want and len(want) > 100 else 1)' $W/sitemap.xml $W/sm.out"
run_cmd 3 "$TFQ -j 2 $CRAWL --sitemap /dev/full > $W/smfull.out 2> $W/smfull.err"
check "test ! -s $W/smfull.out && test \"\$(grep -c . $W/smfull.err)\" = 1 && grep -q -x 'taskfarm: --sitemap: /dev/full: No space left on device' $W/smfull.err"
run_cmd 3 "$TFQ -j 2 $CRAWL --sitemap $W/no/such/dir/s.xml > $W/smdir.out 2> $W/smdir.err"
check "test ! -s $W/smdir.out && grep -q -x 'taskfarm: --sitemap: $W/no/such/dir/s.xml: No such file or directory' $W/smdir.err"
# CSV: the same records as JSON Lines, in the same order.
run_cmd 1 "$TFQ -j 2 $CRAWL --format csv > $W/csv.out"
check "python3 -c 'import csv, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline=\"\")))
recs = [json.loads(l) for l in open(sys.argv[2])]
ok = [r[\"url\"] for r in rows] == [r[\"url\"] for r in recs] and all(
    r[\"result\"] == j[\"result\"] and r[\"status\"] == str(j[\"status\"]) and
    r[\"error\"] == (j[\"error\"] or \"\") and r[\"found_on_count\"] == str(j[\"found_on_count\"])
    for r, j in zip(rows, recs))
sys.exit(0 if ok and len(rows) > 100 else 1)' $W/csv.out $W/sm.out"

# ------------------------------------------------------------- bounds
run_cmd 1 "$TFQ -j 2 $CRAWL --format jsonl --max-depth 0 > $W/d0.out"
check "python3 $W/lc.py jsonl $W/d0.out 0"
check "python3 $W/lc.py parsed $W/d0.out 1"
run_cmd 1 "$TFQ -j 2 $CRAWL --format jsonl --max-pages 1 > $W/p1.out"
check "python3 $W/lc.py jsonl $W/p1.out 0"
check "python3 $W/lc.py parsed $W/p1.out 1"
run_cmd 1 "$TFQ -j 2 $CRAWL --format jsonl --max-depth 1 --dead-only > $W/d1.out"
check "python3 $W/lc.py jsonl $W/d1.out 1 --dead-only"
run_cmd 1 "$TFQ -j 2 $CRAWL --max-depth 1 --dead-only > $W/d1t.out"
check "python3 $W/lc.py table $W/d1t.out 1 --dead-only"
# A 10 GiB page is parsed from its first --max-body bytes and never read
# whole: the crawl ends long before --max-time.
run_cmd 0 "$TFQ -j 2 linkcheck --crawl $Y/big.html --max-body 64k --max-time 20 --format jsonl > $W/big.out"
check "python3 $W/lc.py big $W/big.out"

# ------------------------------------------------------------- file mode
{
    echo "# URLs to check"
    echo "$B/a.html"
    printf ' \t %s  \n' "$B/missing1.html"
    echo "$B/a.html"
    echo "http://[::1"
    echo "$B/head405"
    echo "ftp://127.0.0.1/file.txt"
    echo ""
    echo "$B/r1"
    echo "$Y/head405"
    echo "   # an indented comment"
    echo "HTTP://127.0.0.1:$P/a.html#top"
} > "$W/urls.txt"
run_cmd 1 "cd $W && $TFQ -j 2 linkcheck urls.txt $T --format jsonl > $W/file.out"
check "python3 $W/lc.py file $W/file.out urls.txt"
run_cmd 1 "cd $W && $TFQ -j 1 --joblog $W/file.joblog linkcheck urls.txt $T --format jsonl > $W/file1.out"
check "python3 $W/lc.py file $W/file1.out urls.txt"
check "python3 $W/lc.py joblog $W/file.joblog $W/file1.out"
check "test \"\$(wc -l < $W/file.joblog)\" = 8"
run_cmd 1 "$TFQ -j 2 linkcheck - $T --format jsonl < $W/urls.txt > $W/stdin.out"
check "cmp <(python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)[\"url\"], json.loads(l)[\"ok\"])' $W/file.out) <(python3 -c 'import json,sys
for l in open(sys.argv[1]): print(json.loads(l)[\"url\"], json.loads(l)[\"ok\"])' $W/stdin.out)"
# --max-redirs: the chain of two is too long for 1, not for 2.
echo "$B/r1" > "$W/r1.txt"
run_cmd 1 "$TFQ linkcheck $W/r1.txt $T --max-redirs 1 > $W/redirs1.out"
check "grep -q '^dead  *[0-9-]* .*  $B/r1  .*(.*)\$' $W/redirs1.out"
run_cmd 0 "$TFQ linkcheck $W/r1.txt $T --max-redirs 2 > $W/redirs2.out"
check "grep -q '^warn  *200 .*  $B/r1  -> $B/final.html\$' $W/redirs2.out"
check "grep -q -x '      warning: redirected to $B/final.html' $W/redirs2.out"
echo "$B/a.html" > "$W/good.txt"
run_cmd 0 "$TFQ linkcheck $W/good.txt $T > $W/good.out"
check "grep -q '^ok  *200 .*  $B/a.html\$' $W/good.out"

# ------------------------------------------------------------- bad input
printf '%s\nhttp://127.0.0.1:%s/a\0b\n' "$B/a.html" "$P" > "$W/nul.txt"
{
    echo "$B/a.html"
    echo "$B/b.html"
    printf '%s/' "$B"
    head -c 70000 /dev/zero | tr '\0' a
    echo
} > "$W/long.txt"
usage_error missing.txt linkcheck "$W/missing.txt"
usage_error "nul.txt:2: NUL byte in line" linkcheck "$W/nul.txt"
usage_error "long.txt:3:" linkcheck "$W/long.txt"
usage_error --crawl linkcheck "$W/urls.txt" --crawl "$B/index.html"
usage_error --crawl linkcheck
usage_error --concurrency linkcheck --crawl "$B/index.html" --concurrency 0
usage_error --concurrency linkcheck --crawl "$B/index.html" --concurrency 1025
usage_error --format linkcheck --crawl "$B/index.html" --format xml
usage_error --max-body linkcheck --crawl "$B/index.html" --max-body lots
usage_error ftp linkcheck --crawl ftp://127.0.0.1/
usage_error --crawl linkcheck --crawl "http://[::1"

# A run stopped by SIGINT (started in the background, where a shell leaves
# SIGINT ignored) ends at once, reports what it checked and the rest as not
# checked, and exits 130.
printf '%s\n%s\n' "$Y/hang" "$B/a.html" > "$W/stop.txt"
run_cmd 130 "$TFQ -j 2 linkcheck --max-time 60 $W/stop.txt > $W/stop.out 2> $W/stop.err & p=\$!; sleep 2; kill -INT \$p; wait \$p"
check "grep -q -x 'ok .*  $B/a.html' $W/stop.out"
check "grep -q -x 'dead .*  $Y/hang  (not checked: the run stopped first)' $W/stop.out"
check "grep -q 'stopped by Interrupt' $W/stop.err"

e2e_finish
