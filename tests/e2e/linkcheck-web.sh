#!/bin/bash
# linkcheck-web.sh - taskfarm linkcheck on what real web sites hold and do:
# character sets, pages cut at --max-body, anchors, every kind of link,
# robots.txt, the scope options, retries, access (auth, cookies, headers,
# TLS), the report formats and the exit status
#
# Usage: bash tests/e2e/linkcheck-web.sh path/to/taskfarm   (or TASKFARM=...)
#
# A site generated in $W/site ($W/lcw.py gen) is served by a private nginx
# (scripts/httpd.sh) with an access log ($W/access.log), so that the test
# sees what was requested and what was not. The misbehaving server
# (linkcheck-server.py beside this script) plays 429 with Retry-After, 503,
# reset connections, slow answers and a second robots.txt, on plain HTTP and
# on HTTPS with a self-signed certificate that the test makes with openssl;
# it logs every request ($W/py.log, $W/tls.log). The main crawl of the site
# is checked URL by URL against the model gen writes ($W/model.json): what
# it must report, and nothing else; the checks of the outputs run together
# at the end, in one Python process (see pcheck), each reported as the
# command that makes it alone. Every run uses two forked workers; the main
# crawl runs once more under mpirun -np 3 when MPI is available.
# Only 127.0.0.1 is ever contacted. The whole script is skipped without
# nginx or python3; the TLS cases without openssl.

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

PIDS=
# shellcheck disable=SC2317 # called from the EXIT trap
servers_down()
{
    local p
    bash "$HTTPD" stop "$W/httpd" > /dev/null 2>&1
    for p in $PIDS; do
        kill "$p" 2> /dev/null
        wait "$p" 2> /dev/null
    done
    PIDS=
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

# ---------------------------------------------------------------- lcw.py
cat > "$W/lcw.py" << 'PYEOF'
"""lcw.py - the site, its model and the checks of tests/e2e/linkcheck-web.sh.

  lcw.py gen W P Y T C         writes W/site, W/site.conf, W/model.json and
                               the access files (netrc, cookies); P: nginx's
                               port, Y and T: the misbehaving server's plain
                               and TLS ports, C: a closed port
  lcw.py main OUT [FLAG]...    OUT (--format jsonl) is the crawl of
                               W/site/index.html; FLAG: --ignore-anchors,
                               --ignore-robots, --dead-only
  lcw.py jl OUT SECTION...     checks of OUT (--format jsonl), each
                               section one:
      --urls URL...            OUT reports exactly these URLs
      --rec URL COND...        the record of URL meets each COND:
                               FIELD=JSON (equal; a list: the same set),
                               FIELD~REGEX (a string that matches; for
                               warnings: one of them does), FIELD!~REGEX
                               (none does)
      --none REGEX             no URL of OUT matches REGEX
      --parsed N               OUT has exactly N parsed pages
  lcw.py csv CSV JSONL         the CSV report says what the JSON Lines one
                               of the same crawl says
  lcw.py table TABLE JSONL     the same for the table
  lcw.py sitemap XML           the sitemap of the main crawl
  lcw.py same A B              two JSON Lines reports agree but for timing
  lcw.py ngx FROM TO SECTION... the requests nginx logged in lines FROM+1
                               to TO of W/access.log:
      --n REGEX N              those whose path matches REGEX: N of them (a
                               number, or + for one or more)
      --ua REGEX UA            those whose path matches REGEX came with
                               User-Agent UA (and one did)
      --user REGEX USER        those whose path matches REGEX came as USER
                               (basic auth)
  lcw.py py LOG SECTION...     LOG, the misbehaving server's:
      --n PATH N               N requests of PATH for each method used (0:
                               none at all)
      --gap PATH SECS          its first two requests of PATH are SECS
                               apart or more
  lcw.py batch FILE            runs the checks of FILE, one a line (the
                               arguments above, quoted as for the shell);
                               the output of check N goes to FILE.N, a line
                               "N STATUS" for each to stdout
Each check prints what it expected and what it found, and exits 1; or
exits 0.
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
def gen(w, p, y, t, cp):
    site = os.path.join(w, "site")
    B = "http://127.0.0.1:%s" % p
    Y = "http://127.0.0.1:%s" % y
    C = "http://127.0.0.1:%s/" % cp
    main = {}  # URL -> what its record in the main crawl must say

    def write(path, data):
        full = os.path.join(site, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode())

    def page(path, body, head="", enc="utf-8"):
        write(path, ("<!DOCTYPE html>\n<html><head><title>%s</title>%s"
                     "</head><body>\n%s\n</body></html>\n"
                     % (path, head, body)).encode(enc))

    def rec(url, result="ok", status=200, found_on=(), **kw):
        e = {"result": result, "status": status,
             "found_on": sorted(found_on), "warnings": [], "skip": None,
             "error": None}
        e.update(kw)
        main[url] = e

    def dead(url, found_on, status=404, **kw):
        rec(url, "dead", status, found_on, **kw)

    # ---- the start page
    index = B + "/index.html"
    page("index.html", "\n".join([
        '<p id="top">the main site</p>',
        '<a href="charset/utf8.html">UTF-8</a>',
        '<a href="charset/latin1-header.html">ISO-8859-1 (HTTP)</a>',
        '<a href="charset/latin1-meta.html">ISO-8859-1 (meta)</a>',
        '<a href="charset/declared-header.html">declared (HTTP)</a>',
        '<a href="charset/declared-meta.html">declared (meta)</a>',
        '<a href="charset/declared-equiv.html">declared (http-equiv)</a>',
        '<a href="anchors/a.html">anchors</a>',
        '<a href="links/kinds.html">every kind of link</a>',
        '<a href="torn/big2m.html">a page of 2 MB</a>',
        '<a href="private/a.html">disallowed by robots.txt</a>',
        '<a href="redir/old.html">moved</a>',
        '<a href="list.html?a=1&amp;b=2">a query</a>',
        '<a href="a,b.html">a comma</a>',
        '<a href="%s/small">off-site</a>' % Y,
        '<a href="%s/small#frag">off-site, an anchor</a>' % Y,
        '<a href="%s">a closed port</a>' % C,
        '<a href="ftp://127.0.0.1/file.txt">ftp</a>',
        '<a href="mailto:someone@example.com">mail</a>',
        '<a href="#top">top</a>']))
    rec(index, parsed=True, depth=0, method="GET", page=True)

    # ---- character sets: cafe with an e acute, in the encoding declared
    ch = B + "/charset/"
    cafe = ch + "caf%C3%A9.html"
    # U+00C3 U+00A9, what the UTF-8 bytes of e acute are in ISO-8859-1
    moji = ch + "caf%C3%83%C2%A9-latin1.html"
    write("charset/caf\u00e9.html", "<html><body>caf\u00e9</body></html>\n")
    write("charset/caf\u00c3\u00a9-latin1.html",
          "<html><body>declared</body></html>\n")
    page("charset/utf8.html", '<a href="caf\u00e9.html">caf\u00e9</a>',
         head='<meta charset="utf-8">')
    # (served as ISO-8859-1 by nginx, site.conf below; no <meta>)
    page("charset/latin1-header.html",
         '<a href="caf\u00e9.html">caf\u00e9</a>\n'
         '<a href="nocaf\u00e9.html">missing</a>', enc="latin-1")
    page("charset/latin1-meta.html", '<a href="caf\u00e9.html">caf\u00e9</a>',
         head='<meta charset="iso-8859-1">', enc="latin-1")
    # Pages whose bytes are valid UTF-8 but declared ISO-8859-1: the
    # declaration wins over a guess.
    decl = '<a href="caf\u00c3\u00a9-latin1.html">declared</a>'
    page("charset/declared-header.html", decl, enc="latin-1")
    page("charset/declared-meta.html", decl,
         head='<meta charset="ISO-8859-1">', enc="latin-1")
    page("charset/declared-equiv.html", decl,
         head='<meta http-equiv="Content-Type" '
              'content="text/html; charset=iso-8859-1">', enc="latin-1")
    for n in ["utf8", "latin1-header", "latin1-meta", "declared-header",
              "declared-meta", "declared-equiv"]:
        rec(ch + n + ".html", parsed=True, depth=1, found_on=[index],
            page=True)
    rec(cafe, depth=2, found_on=[ch + "utf8.html", ch + "latin1-header.html",
                                 ch + "latin1-meta.html"], parsed=True,
        page=True)
    rec(moji, depth=2, found_on=[ch + "declared-header.html",
                                 ch + "declared-meta.html",
                                 ch + "declared-equiv.html"], parsed=True,
        page=True)
    dead(ch + "nocaf%C3%A9.html", [ch + "latin1-header.html"], depth=2)

    # ---- anchors
    an = B + "/anchors/"
    page("anchors/a.html", "\n".join([
        '<p id="here">here</p>',
        '<a href="target.html">plain</a>',
        '<a href="target.html#sec1">an id</a>',
        '<a href="target.html#old">the name of an a</a>',
        '<a href="target.html#%C3%A9t%C3%A9">an escaped id</a>',
        '<a href="target.html#top">the top</a>',
        '<a href="target.html#missing">no such anchor</a>',
        '<a href="#here">this page</a>',
        '<a href="#nosuch">this page, no such anchor</a>']))
    page("anchors/target.html", '<h2 id="sec1">one</h2>\n'
         '<a name="old"></a>\n<span id="\u00e9t\u00e9">summer</span>')
    rec(an + "a.html", parsed=True, depth=1, found_on=[index], page=True)
    rec(an + "target.html", parsed=True, depth=2, found_on=[an + "a.html"],
        page=True)
    dead(an + "target.html#missing", [an + "a.html"], status=200,
         error="=anchor #missing not found", anchor=True)
    dead(an + "a.html#nosuch", [an + "a.html"], status=200,
         error="=anchor #nosuch not found", anchor=True)

    # ---- every kind of link
    k = B + "/links/"
    kinds = k + "kinds.html"
    page("links/kinds.html", "\n".join([
        '<img src="img/ok.png" srcset="img/k-srcset-1x.png 1x, '
        'img/k-srcset-2x.png 2x" alt="">',
        '<img src="img/ok.png" srcset="img/k-w480.png 480w,img/k-w800.png '
        '800w" sizes="50vw" alt="">',
        '<object data="k-object.svg" type="image/svg+xml"></object>',
        '<video poster="img/k-poster.png" controls></video>',
        '<picture><source srcset="img/k-picture.webp" type="image/webp">'
        '<img src="img/ok.png" alt=""></picture>',
        '<video controls><source src="k-source.mp4" type="video/mp4">'
        '</video>',
        '<form action="k-form.cgi" method="post"><input type="submit">'
        '</form>',
        '<blockquote cite="k-cite.html">quoted</blockquote>',
        '<q cite="k-q-cite.html">short</q>',
        '<img src="img/ok.png" longdesc="k-longdesc.html" alt="">',
        '<div style="background-image: url(img/k-style-attr.png)">x</div>',
        '<a href="sub\\k-bs.html">a backslash</a>',
        '<a href="sub\\k-bs-missing.html">a backslash, missing</a>',
        '<a href="http:k-httpcolon.html">http: without slashes</a>',
        '<a href="k-ent&eacute;.html">a named entity</a>']),
        head='\n<meta http-equiv="refresh" content="30; url=k-refresh.html">'
             '\n<link rel="stylesheet" href="css/style.css">\n'
             '<style>\n.c { background: url("img/k-style-elem.png") }\n'
             '</style>\n')
    write("links/img/ok.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    write("links/css/style.css",
          '@import "more.css";\n'
          "body { background: url(../img/k-css-file.png) no-repeat; }\n"
          ".b { background-image: url('../img/ok.png'); }\n")
    write("links/css/more.css", '.d { background: url("k-css-import.png") }\n')
    page("links/sub/k-bs.html", "a backslash")
    page("links/k-httpcolon.html", "http:")
    page("links/k-ent\u00e9.html", "an entity")
    css = k + "css/style.css"
    rec(kinds, parsed=True, depth=1, found_on=[index], page=True)
    for name in ["img/k-srcset-1x.png", "img/k-srcset-2x.png",
                 "img/k-w480.png", "img/k-w800.png", "k-object.svg",
                 "img/k-poster.png", "img/k-picture.webp", "k-source.mp4",
                 "k-refresh.html", "k-cite.html", "k-q-cite.html",
                 "k-longdesc.html", "img/k-style-elem.png",
                 "img/k-style-attr.png", "sub/k-bs-missing.html"]:
        dead(k + name, [kinds], depth=2)
    rec(k + "k-form.cgi", "skipped", None, [kinds],
        skip="form action: not followed", requested=False)
    rec(k + "img/ok.png", found_on=[kinds, css], parsed=False)
    rec(css, found_on=[kinds], depth=2)
    rec(k + "css/more.css", found_on=[css])
    dead(k + "img/k-css-file.png", [css])
    dead(k + "css/k-css-import.png", [k + "css/more.css"])
    for name in ["sub/k-bs.html", "k-httpcolon.html", "k-ent%C3%A9.html"]:
        rec(k + name, parsed=True, depth=2, found_on=[kinds], page=True)

    # ---- a page over the old default --max-body (1M), under the new one
    filler = "<p>" + "x" * 60 + "</p>\n"
    page("torn/big2m.html", filler * 34000 +
         '<a href="end-2m-missing.html">at the end</a>')
    rec(B + "/torn/big2m.html", parsed=True, depth=1, found_on=[index],
        page=True)
    dead(B + "/torn/end-2m-missing.html", [B + "/torn/big2m.html"], depth=2)

    # ---- robots.txt: /private/ is not crawled (but with --ignore-robots)
    write("robots.txt", "# the test site\nUser-agent: *\nDisallow: /private/\n")
    page("private/a.html", '<a href="b.html">b</a>')
    page("private/b.html", "b")
    rec(B + "/private/a.html", "skipped", None, [index],
        skip="robots.txt disallows it", requested=False)
    ignored = {}
    ignored[B + "/private/a.html"] = dict(
        main[B + "/private/a.html"], result="ok", status=200, skip=None,
        parsed=True, depth=1, requested=True, page=True)
    ignored[B + "/private/b.html"] = dict(
        main[B + "/private/a.html"], result="ok", status=200, skip=None,
        parsed=True, depth=2, requested=True, page=True,
        found_on=[B + "/private/a.html"])

    # ---- the rest of the start page
    page("redir/new.html", "moved here")
    rec(B + "/redir/old.html", "warning", found_on=[index], parsed=True,
        final_url=B + "/redir/new.html",
        warnings=["redirected to %s/redir/new.html" % B], page=True)
    page("list.html", "a list")
    rec(B + "/list.html?a=1&b=2", found_on=[index], parsed=True, depth=1,
        page=True)
    dead(B + "/a,b.html", [index], depth=1)
    rec(Y + "/small", found_on=[index], parsed=False, depth=1)
    dead(C, [index], status=0, error="^unreachable host: ")
    rec("ftp://127.0.0.1/file.txt", "skipped", None, [index],
        skip="scheme ftp: not checked")

    # ---- the site of the scope options
    page("scope/index.html", "\n".join([
        '<a href="docs/a.html">docs</a>', '<a href="blog/p.html">blog</a>',
        '<a href="skip-me.html">missing</a>',
        '<a href="nofollow/n.html">not to follow</a>',
        '<a href="%s/small">off-site</a>' % Y]))
    page("scope/docs/a.html", '<a href="b.html">b</a>')
    page("scope/docs/b.html", "b")
    page("scope/blog/p.html", '<a href="q.html">q</a>')
    page("scope/blog/q.html", "q")
    page("scope/nofollow/n.html", '<a href="deeper.html">deeper</a>')
    page("scope/nofollow/deeper.html", "deeper")

    # ---- --max-pages: what looks like a page first, then 6 pages
    page("mp/index.html", "\n".join(
        ['<a href="x1.png">an image</a>', '<a href="gone1.html">gone</a>',
         '<a href="gone2.html">gone</a>', '<a href="notes.txt">text</a>'] +
        ['<a href="p%d.html">%d</a>' % (i, i) for i in range(1, 7)]))
    write("mp/x1.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    write("mp/notes.txt", '<a href="n.html">not HTML</a>\n')
    for i in range(1, 7):
        page("mp/p%d.html" % i, "page %d" % i)

    # ---- a page and a style sheet cut at 64 KiB (--max-body 64k), each
    # in the middle of a link
    cut = 65536

    def torn_at_cut(head, fill, torn, tail):
        """HEAD, whole FILLs and blanks, TORN, which ends at byte CUT
        (in the middle of a name), then TAIL."""
        pad = cut - len(head) - len(torn)
        k = pad // len(fill)
        body = head + fill * k + " " * (pad - k * len(fill)) + torn + tail
        assert body[:cut].endswith(torn)
        return body
    write("torn/cut.html", torn_at_cut(
        '<!DOCTYPE html>\n<html><head><title>cut</title>'
        '<link rel="stylesheet" href="cut.css"></head><body>\n'
        '<a href="before.html">before</a>\n', filler, '<a href="torn-tar',
        'get.html">torn</a>\n<a href="after.html">after</a>\n'
        '<a href="after-missing.html">gone</a>\n' + filler * 500 +
        "</body></html>\n"))
    write("torn/cut.css", torn_at_cut(
        ".a { background: url(css-before.png) }\n",
        "/* " + "y" * 60 + " */\n", ".t { background: url(torn-css-tar",
        "get.png) }\n.z { background: url(css-after-missing.png) }\n" +
        ".f { color: red }\n" * 2000))
    for name in ["before.html", "torn-target.html", "after.html"]:
        page("torn/" + name, name)
    for name in ["css-before.png", "torn-css-target.png"]:
        write("torn/" + name, b"\x89PNG\r\n\x1a\n" + b"\0" * 64)

    # ---- access: basic auth, a cookie, headers
    page("auth/index.html", '<a href="child.html">child</a>')
    page("auth/child.html", "child")
    page("cookie/page.html", "with a cookie")
    page("header/page.html", "with a header")
    page("header2/page.html", "with a second header")

    pw = "pw-" + os.urandom(8).hex()
    with open(os.path.join(w, "password"), "w") as f:
        f.write(pw + "\n")
    with open(os.path.join(w, "htpasswd"), "w") as f:
        f.write("tfuser:{PLAIN}%s\n" % pw)
    with open(os.path.join(w, "netrc"), "w") as f:
        f.write("machine 127.0.0.1\nlogin tfuser\npassword %s\n" % pw)
    os.chmod(os.path.join(w, "netrc"), 0o600)
    with open(os.path.join(w, "cookies.txt"), "w") as f:
        f.write("# Netscape HTTP Cookie File\n"
                "127.0.0.1\tFALSE\t/\tFALSE\t4102444800\ttfsession\tc00kie-v\n")
    with open(os.path.join(w, "cookies-h.txt"), "w") as f:
        f.write("Set-Cookie: tfsession=c00kie-v; Path=/\n")

    with open(os.path.join(w, "site.conf"), "w") as f:
        f.write("""# the fixed locations of the test site
access_log %(w)s/access.log;
location ~ ^/charset/(latin1|declared)-header\\.html$ { charset iso-8859-1; }
location = /redir/old.html { return 301 /redir/new.html; }
location /auth/ {
    auth_basic "taskfarm test";
    auth_basic_user_file %(w)s/htpasswd;
}
location /cookie/ {
    if ($cookie_tfsession != "c00kie-v") { return 403; }
}
location /header/ {
    if ($http_x_tf_token != "h3ader") { return 403; }
}
location /header2/ {
    if ($http_x_tf_second != "two") { return 403; }
}
""" % {"w": w})
    model = {"B": B, "Y": Y, "T": "https://127.0.0.1:%s" % t, "C": C,
             "main": main, "ignored": ignored}
    with open(os.path.join(w, "model.json"), "w") as f:
        json.dump(model, f, indent=1, sort_keys=True)


def model():
    with open(os.path.join(W, "model.json")) as f:
        return json.load(f)


# ------------------------------------------------------------- records
FIELDS = {"url": str, "ok": bool, "status": int, "final_url": str,
          "error": (str, type(None)), "found_on": list,
          "found_on_count": int, "depth": int, "parsed": bool,
          "method": (str, type(None)), "redirects": int,
          "time": (int, float), "size": int, "result": str,
          "warnings": list, "skip": (str, type(None))}
RESULTS = ("ok", "warning", "dead", "skipped")


def load(path):
    """The records of JSON Lines report PATH, each checked for its form;
    returns {url: record}."""
    by = {}
    urls = []
    with open(path, "rb") as f:
        data = f.read()
    if data and not data.endswith(b"\n"):
        fail("%s: the last line has no newline" % path)
    for n, line in enumerate(data.splitlines(), 1):
        try:
            r = json.loads(line)
        except ValueError as e:
            fail("%s:%d: not JSON (%s): %r" % (path, n, e, line[:200]))
            continue
        if not isinstance(r, dict):
            fail("%s:%d: not a JSON object" % (path, n))
            continue
        u = r.get("url")
        for k, t in FIELDS.items():
            if k not in r:
                fail("%s: %s: no %r field" % (path, u, k))
            elif k == "status" and r[k] is None and \
                    r.get("result") == "skipped":
                pass
            elif not isinstance(r[k], t) or (t is int and
                                               isinstance(r[k], bool)):
                fail("%s: %s: %r is %r, expected a %s" % (path, u, k, r[k],
                                                          t))
        res = r.get("result")
        if res not in RESULTS:
            fail("%s: %s: result %r, expected one of %s" % (path, u, res,
                                                            RESULTS))
        if r.get("ok") is not (res != "dead"):
            fail("%s: %s: ok %r with result %r, expected ok false exactly "
                 "for dead" % (path, u, r.get("ok"), res))
        ws = r.get("warnings")
        if isinstance(ws, list):
            if not all(isinstance(x, str) and x for x in ws):
                fail("%s: %s: warnings %r, expected texts" % (path, u, ws))
            if res == "ok" and ws:
                fail("%s: %s: result ok with warnings %r, expected result "
                     "warning" % (path, u, ws))
            if res == "warning" and not ws:
                fail("%s: %s: result warning, no warnings" % (path, u))
        if (res == "skipped") != isinstance(r.get("skip"), str):
            fail("%s: %s: result %r with skip %r, expected a skip text "
                 "exactly for skipped" % (path, u, res, r.get("skip")))
        fo = r.get("found_on")
        if isinstance(fo, list) and isinstance(r.get("found_on_count"), int):
            if len(fo) != min(100, r["found_on_count"]):
                fail("%s: %s: %d found_on for found_on_count %d"
                     % (path, u, len(fo), r["found_on_count"]))
        if not isinstance(u, str):
            continue
        if u in by:
            fail("%s: %s appears twice" % (path, u))
        by[u] = r
        urls.append(u)
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
        fail("%s: %d missing: %s" % (what, len(missing),
                                     " ".join(missing[:8])))


def check_error(where, spec, got):
    if spec is None:
        return
    if spec.startswith("=") and got != spec[1:]:
        fail("%s: error %r, expected %r" % (where, got, spec[1:]))
    elif spec.startswith("^") and not (isinstance(got, str) and
                                       got.startswith(spec[1:])):
        fail("%s: error %r, expected %r..." % (where, got, spec[1:]))


def cmd_main(out, flags):
    m = model()
    by = load(out)
    want = dict(m["main"])
    if "--ignore-robots" in flags:
        want.update(m["ignored"])
    if "--ignore-anchors" in flags:
        want = {u: e for u, e in want.items() if not e.get("anchor")}
    if "--dead-only" in flags:
        want = {u: e for u, e in want.items() if e["result"] == "dead"}
    diff_sets("%s: URLs" % out, by, want)
    for u, e in sorted(want.items()):
        r = by.get(u)
        if r is None:
            continue
        w = "%s: %s" % (out, u)
        if r.get("result") != e["result"]:
            fail("%s: result %r, expected %r (status %r, error %r, skip %r, "
                 "warnings %r)" % (w, r.get("result"), e["result"],
                                   r.get("status"), r.get("error"),
                                   r.get("skip"), r.get("warnings")))
        if e["status"] is not None and r.get("status") != e["status"]:
            fail("%s: status %r, expected %r (error %r)" % (w, r.get("status"),
                                                          e["status"],
                                                          r.get("error")))
        check_error(w, e["error"], r.get("error"))
        if e["result"] != "dead" and r.get("error") is not None:
            fail("%s: error %r, expected none" % (w, r.get("error")))
        if r.get("skip") != e["skip"]:
            fail("%s: skip %r, expected %r" % (w, r.get("skip"), e["skip"]))
        if r.get("warnings") != e["warnings"]:
            fail("%s: warnings %r, expected %r" % (w, r.get("warnings"),
                                                   e["warnings"]))
        fo = r.get("found_on")
        if isinstance(fo, list) and sorted(fo) != e["found_on"]:
            fail("%s: found_on %r, expected %r" % (w, fo, e["found_on"]))
        if r.get("found_on_count") != len(e["found_on"]):
            fail("%s: found_on_count %r, expected %d" % (
                w, r.get("found_on_count"), len(e["found_on"])))
        for f in ("parsed", "depth", "final_url", "method"):
            if f in e and r.get(f) != e[f]:
                fail("%s: %s %r, expected %r" % (w, f, r.get(f), e[f]))
        if "final_url" not in e and not e.get("anchor") and \
                e["result"] != "skipped" and r.get("final_url") != u:
            fail("%s: final_url %r, expected the URL itself" % (
                w, r.get("final_url")))
        if e.get("requested") is False and r.get("method") is not None:
            fail("%s: method %r, expected null (no request)" % (
                w, r.get("method")))
    done()


def sections(args, known):
    """ARGS split at the words of KNOWN: [(word, [arguments])]."""
    out = []
    for a in args:
        if a in known:
            out.append((a, []))
        elif not out:
            sys.exit("lcw.py: %r before a section (%s)" % (a, " ".join(known)))
        else:
            out[-1][1].append(a)
    return out


def check_rec(out, by, url, conds):
    r = by.get(url)
    if r is None:
        fail("%s: no record of %s, expected one (URLs: %s)" % (
            out, url, " ".join(sorted(by)[:12])))
        return
    w = "%s: %s" % (out, url)
    for c in conds:
        mo = re.match(r"^(\w+)(=|~|!~)(.*)$", c, re.S)
        if mo is None:
            sys.exit("lcw.py: bad condition %r" % c)
        f, op, v = mo.groups()
        got = r.get(f)
        if op == "=":
            try:
                want = json.loads(v)
            except ValueError:
                want = v
            if isinstance(want, list) and isinstance(got, list):
                same = sorted(got) == sorted(want)
            else:
                same = got == want and type(got) is type(want)
            if not same:
                fail("%s: %s %r, expected %r (result %r, status %r, error %r,"
                     " warnings %r, skip %r)" % (
                         w, f, got, want, r.get("result"), r.get("status"),
                         r.get("error"), r.get("warnings"), r.get("skip")))
        else:
            vals = got if isinstance(got, list) else [got]
            hit = any(isinstance(x, str) and re.search(v, x) for x in vals)
            if op == "~" and not hit:
                fail("%s: %s %r, expected a match of %r" % (w, f, got, v))
            if op == "!~" and hit:
                fail("%s: %s %r, expected no match of %r" % (w, f, got, v))


def cmd_jl(out, args):
    by = load(out)
    for sec, a in sections(args, ("--urls", "--rec", "--none", "--parsed")):
        if sec == "--urls":
            diff_sets("%s: URLs" % out, by, a)
        elif sec == "--rec":
            check_rec(out, by, a[0], a[1:])
        elif sec == "--none":
            bad = [u for u in by if re.search(a[0], u)]
            if bad:
                fail("%s: URLs that match %r, expected none: %s" % (
                    out, a[0], " ".join(bad[:8])))
        else:
            got = sorted(u for u, r in by.items() if r.get("parsed") is True)
            if len(got) != int(a[0]):
                fail("%s: %d parsed pages, expected %s: %s" % (
                    out, len(got), a[0], " ".join(got)))
    done()


CSV_HEAD = ["result", "url", "status", "final_url", "time_s", "bytes",
            "error", "warnings", "skip", "depth", "found_on_count",
            "found_on"]


def cmd_csv(path, jpath):
    import csv
    by = load(jpath)
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("%s: not UTF-8: %s" % (path, e))
        done()
    rows = list(csv.reader(text.splitlines(True), strict=True))
    if not rows or rows[0] != CSV_HEAD:
        fail("%s: line 1 is %r, expected %r" % (path, rows[:1], CSV_HEAD))
        done()
    got = {}
    for n, row in enumerate(rows[1:], 2):
        if len(row) != len(CSV_HEAD):
            fail("%s: row %d has %d fields, expected %d: %r" % (
                path, n, len(row), len(CSV_HEAD), row))
            continue
        d = dict(zip(CSV_HEAD, row))
        if d["url"] in got:
            fail("%s: %s appears twice" % (path, d["url"]))
        got[d["url"]] = d
    diff_sets("%s: URLs (against %s)" % (path, jpath), got, by)
    for u, d in got.items():
        r = by.get(u)
        if r is None:
            continue
        w = "%s: %s" % (path, u)
        want = {"result": r["result"], "url": u,
                "status": "" if r["status"] is None else str(r["status"]),
                "final_url": r["final_url"] or "", "error": r["error"] or "",
                "skip": r["skip"] or "", "depth": str(r["depth"]),
                "found_on_count": str(r["found_on_count"])}
        for k, v in want.items():
            if d[k] != v:
                fail("%s: %s %r, expected %r as in %s" % (w, k, d[k], v,
                                                        jpath))
        if r["found_on"]:
            if d["found_on"] not in r["found_on"]:
                fail("%s: found_on %r, expected one of %r" % (
                    w, d["found_on"], r["found_on"]))
        elif d["found_on"] != "":
            fail("%s: found_on %r, expected none" % (w, d["found_on"]))
        for x in r["warnings"]:
            if x not in d["warnings"]:
                fail("%s: warnings %r, expected it to hold %r" % (
                    w, d["warnings"], x))
        if not r["warnings"] and d["warnings"] != "":
            fail("%s: warnings %r, expected none" % (w, d["warnings"]))
        if not re.match(r"^\d+(\.\d+)?$", d["time_s"]):
            fail("%s: time_s %r, expected seconds" % (w, d["time_s"]))
        if not re.match(r"^\d+$", d["bytes"]):
            fail("%s: bytes %r, expected a number" % (w, d["bytes"]))
        elif r["parsed"] and int(d["bytes"]) != r["size"]:
            fail("%s: bytes %s, expected %d" % (w, d["bytes"], r["size"]))
    done()


TABLE_RESULT = {"ok": "ok", "warning": "warn", "dead": "dead",
                "skipped": "skip"}


def cmd_table(path, jpath):
    by = load(jpath)
    with open(path, "rb") as f:
        lines = f.read().decode("utf-8", "replace").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines or not re.match(r"^RESULT +CODE +TIME_S +BYTES +URL$",
                                 lines[0]):
        fail("%s: line 1 is %r, expected the header RESULT CODE TIME_S "
             "BYTES URL" % (path, lines[:1]))
    got = {}
    for n, line in enumerate(lines[1:], 2):
        if line.startswith(" "):
            continue  # found on, and more
        mo = re.match(r"^(\S+) +(\S+) +(\S+) +(\S+)  (\S+)", line)
        if mo is None:
            fail("%s:%d: not a table row: %r" % (path, n, line[:200]))
            continue
        got[mo.group(5)] = mo.group(1)
    diff_sets("%s: URLs (against %s)" % (path, jpath), got, by)
    for u, res in got.items():
        r = by.get(u)
        if r is not None and res != TABLE_RESULT.get(r["result"]):
            fail("%s: %s: RESULT %r, expected %r (result %r in %s)" % (
                path, u, res, TABLE_RESULT.get(r["result"]), r["result"],
                jpath))
    done()


def cmd_sitemap(path):
    import xml.etree.ElementTree as ET
    m = model()
    ns = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as e:
        fail("%s: not well-formed XML: %s" % (path, e))
        done()
    if root.tag != ns + "urlset":
        fail("%s: the root is %r, expected %surlset" % (path, root.tag, ns))
    locs = []
    for u in root:
        if u.tag != ns + "url":
            fail("%s: a %r in urlset, expected url elements" % (path, u.tag))
            continue
        loc = u.findall(ns + "loc")
        if len(loc) != 1 or not (loc[0].text or "").strip():
            fail("%s: a url without one loc" % path)
            continue
        locs.append(loc[0].text.strip())
    if len(locs) != len(set(locs)):
        fail("%s: a loc appears twice" % path)
    # The HTML pages parsed with a 2xx status; a redirected one by its URL
    # or where it led, either.
    pages = {u: e.get("final_url", u) for u, e in m["main"].items()
             if e.get("page")}
    want = set()
    for u, final in pages.items():
        if final != u and final in locs and u not in locs:
            want.add(final)
        else:
            want.add(u)
    diff_sets("%s: loc" % path, locs, want)
    done()


def cmd_same(a, b):
    def norm(path):
        out = {}
        for u, r in load(path).items():
            r = dict(r)
            r.pop("time", None)
            if r.get("method") == "GET" and r.get("parsed") is False:
                r.pop("size", None)
            if isinstance(r.get("found_on"), list):
                r["found_on"] = sorted(r["found_on"])
            out[u] = json.dumps(r, sort_keys=True)
        return out
    x, y = norm(a), norm(b)
    diff_sets("%s against %s: URLs" % (b, a), y, x)
    for u in sorted(set(x) & set(y)):
        if x[u] != y[u]:
            fail("%s and %s differ on %s:\n  %s\n  %s" % (a, b, u, x[u][:400],
                                                       y[u][:400]))
    done()


NGX = re.compile(r'^\S+ - (\S+) \[[^\]]*\] "(\S+) (\S+)[^"]*" (\d+) \d+ '
                 r'"[^"]*" "([^"]*)"')


def ngx_lines(start, end):
    out = []
    with open(os.path.join(W, "access.log"), encoding="utf-8",
              errors="replace") as f:
        for n, line in enumerate(f, 1):
            if n <= start or n > end:
                continue
            mo = NGX.match(line)
            if mo is None:
                fail("access.log:%d: not nginx's combined format: %r" % (
                    n, line[:200]))
                continue
            out.append({"user": mo.group(1), "method": mo.group(2),
                        "path": mo.group(3), "status": mo.group(4),
                        "ua": mo.group(5)})
    return out


def cmd_ngx(start, end, args):
    lines = ngx_lines(start, end)
    where = "access.log, lines %d to %d" % (start + 1, end)
    for sec, a in sections(args, ("--n", "--ua", "--user")):
        hits = [x for x in lines if re.search(a[0], x["path"])]
        if sec == "--n":
            show = " ".join("%s %s" % (x["method"], x["path"])
                            for x in hits[:6])
            if a[1] == "+" and not hits:
                fail("%s: no request of %r, expected one or more" % (where,
                                                                     a[0]))
            elif a[1] != "+" and len(hits) != int(a[1]):
                fail("%s: %d requests of %r, expected %s: %s" % (
                    where, len(hits), a[0], a[1], show))
        elif sec == "--ua":
            if not hits:
                fail("%s: no request of %r, expected some" % (where, a[0]))
            bad = sorted(set(x["ua"] for x in hits if x["ua"] != a[1]))
            if bad:
                fail("%s: User-Agent %r, expected %r alone" % (where, bad,
                                                               a[1]))
        else:
            if not hits:
                fail("%s: no request of %r, expected some" % (where, a[0]))
            bad = [(x["path"], x["user"]) for x in hits if x["user"] != a[1]]
            if bad:
                fail("%s: requests of %r as %r, expected user %r" % (
                    where, a[0], bad[:4], a[1]))
    done()


def py_lines(log, path):
    out = []
    with open(log, encoding="utf-8") as f:
        for line in f:
            t, method, p, ua = line.rstrip("\n").split("\t", 3)
            if p == path:
                out.append((float(t), method, ua))
    return out


def cmd_py(log, args):
    for sec, a in sections(args, ("--n", "--gap")):
        path = a[0]
        if sec == "--n":
            n = int(a[1])
            by = {}
            for _, method, _ in py_lines(log, path):
                by[method] = by.get(method, 0) + 1
            if n == 0 and by:
                fail("%s: requests of %s by method %r, expected none" % (
                    log, path, by))
            elif n > 0 and (not by or any(v != n for v in by.values())):
                fail("%s: requests of %s by method %r, expected %d for each "
                     "method used" % (log, path, by, n))
        else:
            secs = float(a[1])
            ts = [t for t, _, _ in py_lines(log, path)]
            if len(ts) < 2:
                fail("%s: %d requests of %s, expected two or more" % (
                    log, len(ts), path))
            elif ts[1] - ts[0] < secs:
                fail("%s: the retry of %s came %.3f s after the first "
                     "request, expected %.3f s or more" % (
                         log, path, ts[1] - ts[0], secs))
    done()


def run(a):
    cmd = a[0]
    if cmd == "gen":
        gen(a[1], a[2], a[3], a[4], a[5])
    elif cmd == "main":
        cmd_main(a[1], a[2:])
    elif cmd == "jl":
        cmd_jl(a[1], a[2:])
    elif cmd == "csv":
        cmd_csv(a[1], a[2])
    elif cmd == "table":
        cmd_table(a[1], a[2])
    elif cmd == "sitemap":
        cmd_sitemap(a[1])
    elif cmd == "same":
        cmd_same(a[1], a[2])
    elif cmd == "ngx":
        cmd_ngx(int(a[1]), int(a[2]), a[3:])
    elif cmd == "py":
        cmd_py(a[1], a[2:])
    else:
        sys.exit("lcw.py: unknown command %r" % cmd)


def batch(path):
    """Runs the checks of PATH, one a line (the arguments of lcw.py as the
    shell would read them): the output of check N goes to PATH.N, and a
    line "N STATUS" for each to standard output."""
    import io
    import shlex
    with open(path) as f:
        lines = f.read().splitlines()
    for n, line in enumerate(lines, 1):
        out = io.StringIO()
        old = sys.stdout
        sys.stdout = out
        FAIL.clear()
        try:
            run(shlex.split(line))
            status = 0
        except SystemExit as e:
            if e.code is None or isinstance(e.code, int):
                status = e.code or 0
            else:
                print(e.code)
                status = 1
        except Exception as e:  # a check that breaks is a failed check
            print("lcw.py: %s: %r" % (type(e).__name__, e))
            status = 1
        finally:
            sys.stdout = old
        with open("%s.%d" % (path, n), "w") as f:
            f.write(out.getvalue())
        print(n, status)


def main():
    if sys.argv[1] == "batch":
        batch(sys.argv[2])
    else:
        run(sys.argv[1:])


main()
PYEOF
LCW="python3 $W/lcw.py"

# pcheck ARGS - a check by lcw.py (ARGS: its arguments as one string, quoted
# for the shell), run with the others by pcheck_all: Python starts slowly
# on a busy machine, so the checks of the outputs, which look at files that
# no later run changes, run at the end in one process. Each is reported as
# the command that makes it alone.
: > "$W/checks.txt"
pcheck()
{
    printf '%s\n' "$1" >> "$W/checks.txt"
}

pcheck_all()
{
    local n=0 line status
    python3 "$W/lcw.py" batch "$W/checks.txt" > "$W/checks.status" \
        2> "$W/checks.err"
    while IFS= read -r line; do
        n=$((n + 1))
        status=$(awk -v n="$n" '$1 == n { print $2 }' "$W/checks.status")
        if [ "$status" = 0 ]; then
            e2e_ok "$LCW $line"
        else
            e2e_err "$LCW $line" "expected status 0, got '$status'" \
                "$(head -n 30 "$W/checks.txt.$n" 2> /dev/null)" \
                "$(head -n 10 "$W/checks.err")"
        fi
    done < "$W/checks.txt"
}

# ------------------------------------------------------------ the servers
# pyserver NAME [ARG...] - starts the misbehaving server, its requests
# logged in $W/NAME.log, and sets PORT to its port. It ends itself once
# this script is gone (or after 240 s at the latest).
pyserver()
{
    local name=$1
    shift
    python3 "$HERE/linkcheck-server.py" --port 0 --lifetime 240 \
        --log "$W/$name.log" "$@" > "$W/$name.port" 2> "$W/$name.err" \
        < /dev/null &
    PIDS="$PIDS $!"
    for _ in $(seq 100); do
        [ -s "$W/$name.port" ] && break
        sleep 0.05
    done
    PORT=$(head -n 1 "$W/$name.port")
}
pyserver py
YP=$PORT
TP=
TLS=0
if command -v openssl > /dev/null 2>&1 &&
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -keyout "$W/key.pem" \
        -out "$W/cert.pem" > "$W/openssl.out" 2>&1; then
    pyserver tls --tls "$W/cert.pem" "$W/key.pem"
    TP=$PORT
    TLS=1
else
    echo "# the TLS cases will be skipped: openssl failed or is missing"
fi
CP=$(free_port) # nothing listens there
P=
for _ in 1 2 3; do
    P=$(free_port)
    rm -rf "$W/site"
    $LCW gen "$W" "$P" "$YP" "${TP:-0}" "$CP" || break
    # (HTTPD_OWNER: nginx goes when this script goes, however it ends)
    if HTTPD_OWNER=$$ bash "$HTTPD" start "$W/httpd" "$W/site" "$P" \
        "$W/site.conf" > "$W/httpd.out" 2>&1; then
        break
    fi
    P=
done
B=http://127.0.0.1:$P
Y=http://127.0.0.1:$YP
T=https://127.0.0.1:$TP
if [ -z "$P" ] || [ -z "$YP" ]; then
    e2e_err "bash $(q "$HTTPD") start $W/httpd $W/site PORT $W/site.conf" \
        "nginx port '$P', server port '$YP'" "$(cat "$W/httpd.out")"
    e2e_finish
fi
# mark - the lines of nginx's access log so far, for lcw.py ngx. (nginx
# writes a request's line once it has sent the answer: a moment later.)
mark()
{
    sleep 0.2
    wc -l < "$W/access.log"
}
VERSION=$("$TF" --version | head -n 1 | awk '{ print $2 }')
PW=$(cat "$W/password")

# Every run bounds its transfers.
TO="--connect-timeout 2 --max-time 5"
LC="$TFQ -j 2 linkcheck $TO"
MAIN="linkcheck --crawl $B/index.html $TO"

# ------------------------------------------------------ the main crawl
# Character sets, anchors, every kind of link, CSS, a page of 2 MB,
# robots.txt, a redirect, off-site links: each URL as the model says.
M0=$(mark)
run_cmd 1 "$TFQ -j 2 $MAIN --format jsonl --sitemap $W/sitemap.xml > $W/main.jsonl 2> $W/main.err"
pcheck "main $W/main.jsonl"
pcheck "sitemap $W/sitemap.xml"
# What nginx was asked: robots.txt, the UTF-8 form of cafe, no form action,
# nothing under /private/, no escaped backslash, each request with the
# default User-Agent.
pcheck "ngx $M0 $(mark) --n '^/robots\\.txt\$' + --n '^/charset/caf%C3%A9\\.html\$' + --n '%E9' 0 --n '^/private/' 0 --n 'k-form\\.cgi' 0 --n '%5C' 0 --ua . taskfarm-linkcheck/$VERSION"
# The same crawl, in the other formats and under other options.
run_cmd 1 "$TFQ -j 2 $MAIN --format csv > $W/main.csv"
pcheck "csv $W/main.csv $W/main.jsonl"
run_cmd 1 "$TFQ -j 2 $MAIN > $W/main.table"
pcheck "table $W/main.table $W/main.jsonl"
run_cmd 1 "$TFQ -j 2 $MAIN --format jsonl --dead-only > $W/dead.jsonl"
pcheck "main $W/dead.jsonl --dead-only"
run_cmd 1 "$TFQ -j 2 $MAIN --format jsonl --ignore-anchors > $W/noanchors.jsonl"
pcheck "main $W/noanchors.jsonl --ignore-anchors"
M0=$(mark)
run_cmd 1 "$TFQ -j 2 $MAIN --format jsonl --ignore-robots > $W/norobots.jsonl"
pcheck "main $W/norobots.jsonl --ignore-robots"
pcheck "ngx $M0 $(mark) --n '^/private/[ab]\\.html\$' +"
# shellcheck disable=SC2086 # MAIN: words
if mpi_run 1 "$(mpirun_cmd "-np 3" $MAIN --format jsonl) > $W/mpi.jsonl 2> $W/mpi.err"; then
    pcheck "main $W/mpi.jsonl"
    pcheck "same $W/main.jsonl $W/mpi.jsonl"
fi
# --user-agent replaces the default.
M0=$(mark)
echo "$B/list.html" > "$W/ua.txt"
run_cmd 0 "$LC --user-agent 'tf-test-agent/9 (e2e)' $W/ua.txt > $W/ua.out"
pcheck "ngx $M0 $(mark) --ua '^/list\\.html\$' 'tf-test-agent/9 (e2e)'"

# ------------------------------------------------------------- torn pages
# Cut at 64 KiB in the middle of a link (the page and its style sheet):
# no dead link from the torn piece, a warning on each, exit 0.
CUTW='^cut at 65536 bytes \(--max-body\): links after it not checked$'
run_cmd 0 "$LC --crawl $B/torn/cut.html --max-body 64k --format jsonl > $W/cut.jsonl" \
    "expected exit status 0: a cut page is a warning, its torn link no dead link"
pcheck "jl $W/cut.jsonl --urls $B/torn/cut.html $B/torn/cut.css $B/torn/before.html $B/torn/css-before.png --rec $B/torn/cut.html result=warning 'warnings~$CUTW' parsed=true --rec $B/torn/cut.css result=warning 'warnings~$CUTW'"
# With room for all of it, the links after the cut are found.
run_cmd 1 "$LC --crawl $B/torn/cut.html --max-body 1M --format jsonl > $W/uncut.jsonl"
pcheck "jl $W/uncut.jsonl --urls $B/torn/cut.html $B/torn/cut.css $B/torn/before.html $B/torn/css-before.png $B/torn/torn-target.html $B/torn/after.html $B/torn/after-missing.html $B/torn/torn-css-target.png $B/torn/css-after-missing.png --rec $B/torn/cut.html result=ok warnings=[] --rec $B/torn/after-missing.html result=dead status=404 'found_on=[\"$B/torn/cut.html\"]' --rec $B/torn/css-after-missing.png result=dead status=404 'found_on=[\"$B/torn/cut.css\"]' --rec $B/torn/torn-target.html result=ok"

# ------------------------------------------------------------------ scope
S=$B/scope
SC="$LC --crawl $S/index.html --format jsonl"
ALL="$S/index.html $S/docs/a.html $S/docs/b.html $S/blog/p.html $S/blog/q.html $S/skip-me.html $S/nofollow/n.html $S/nofollow/deeper.html $Y/small"
run_cmd 1 "$SC > $W/scope.jsonl"
pcheck "jl $W/scope.jsonl --urls $ALL"
# --exclude, twice: reported as skipped, never requested; nothing dead.
M0=$(mark)
run_cmd 0 "$SC --exclude 'skip-me' --exclude '/blog/q\\.html\$' > $W/exclude.jsonl"
pcheck "jl $W/exclude.jsonl --urls $ALL --rec $S/skip-me.html result=skipped 'skip=excluded by --exclude' --rec $S/blog/q.html result=skipped 'skip=excluded by --exclude'"
pcheck "ngx $M0 $(mark) --n 'skip-me|/blog/q' 0"
# --include: what does not match is skipped, off-site links too.
NOTINC="result=skipped 'skip=not included by --include'"
run_cmd 0 "$SC --include '^http://127\\.0\\.0\\.1:$P/scope/(index|docs/)' > $W/include.jsonl"
pcheck "jl $W/include.jsonl --urls $S/index.html $S/docs/a.html $S/docs/b.html $S/blog/p.html $S/skip-me.html $S/nofollow/n.html $Y/small --rec $S/blog/p.html $NOTINC --rec $S/skip-me.html $NOTINC --rec $S/nofollow/n.html $NOTINC --rec $Y/small $NOTINC --rec $S/docs/b.html result=ok"
# --no-follow: checked, not parsed.
run_cmd 1 "$SC --no-follow '/nofollow/' > $W/nofollow.jsonl"
pcheck "jl $W/nofollow.jsonl --urls $S/index.html $S/docs/a.html $S/docs/b.html $S/blog/p.html $S/blog/q.html $S/skip-me.html $S/nofollow/n.html $Y/small --rec $S/nofollow/n.html result=ok parsed=false"
# --scope, twice: pages outside the prefixes are checked, not parsed.
run_cmd 1 "$SC --scope $S/index --scope $S/docs/ > $W/prefix.jsonl"
pcheck "jl $W/prefix.jsonl --urls $S/index.html $S/docs/a.html $S/docs/b.html $S/blog/p.html $S/skip-me.html $S/nofollow/n.html $Y/small --rec $S/blog/p.html result=ok parsed=false --rec $S/docs/a.html result=ok parsed=true"
# --check-external no: off-site links neither checked nor reported.
cp "$W/py.log" "$W/py.before"
run_cmd 1 "$SC --check-external no > $W/noext.jsonl"
pcheck "jl $W/noext.jsonl --urls $S/index.html $S/docs/a.html $S/docs/b.html $S/blog/p.html $S/blog/q.html $S/skip-me.html $S/nofollow/n.html $S/nofollow/deeper.html"
check "cmp $W/py.before $W/py.log"
run_cmd 1 "$SC --check-external yes > $W/ext.jsonl"
pcheck "jl $W/ext.jsonl --urls $ALL --rec $Y/small result=ok status=200"

# -------------------------------------------------------------- --max-pages
# Pages parsed, exactly, though links that look like pages come first and
# turn out to be an image, text and 404s.
for n in 4 7 100; do
    run_cmd 1 "$LC --crawl $B/mp/index.html --format jsonl --max-pages $n > $W/mp$n.jsonl"
done
pcheck "jl $W/mp4.jsonl --parsed 4"
pcheck "jl $W/mp7.jsonl --parsed 7"
pcheck "jl $W/mp100.jsonl --parsed 7"

# ---------------------------------------------------------------- retries
# 429 with Retry-After: 1 then 200; 503 then 200; a reset then 200; always
# 429 (dead after the 2 retries of the default); each its own path. (And
# an answer in 3 s, no warning under the default --slow, 10s.)
printf '%s\n' "$Y/ra-once/1/a" "$Y/s503-once/a" "$Y/reset-once/a" \
    "$Y/ra/1/a" "$Y/slow/3000" > "$W/retry.txt"
run_cmd 1 "timeout 60 $LC --format jsonl $W/retry.txt > $W/retry.jsonl"
RETRIED="result=warning status=200 'warnings~^retried 1 times?\$'"
pcheck "jl $W/retry.jsonl --rec $Y/ra-once/1/a $RETRIED --rec $Y/s503-once/a $RETRIED --rec $Y/reset-once/a $RETRIED --rec $Y/ra/1/a result=dead status=429 --rec $Y/slow/3000 result=ok warnings=[]"
pcheck "py $W/py.log --n /ra-once/1/a 2 --gap /ra-once/1/a 1.0 --n /s503-once/a 2 --n /reset-once/a 2 --n /ra/1/a 3"
# A Retry-After longer than --max-retry-wait is not waited for: the 429
# stands, at once; under the default --max-retry-wait (60s) too.
printf '%s\n' "$Y/ra/3600/b" "$Y/ra-once/3/b" > "$W/ra.txt"
echo "$Y/ra/3600/c" > "$W/ra2.txt"
TIMED="s=\$(date +%s%N); timeout 60 $LC --format jsonl"
ELAPSED="rc=\$?; echo \$(( (\$(date +%s%N) - s) / 1000000 ))"
run_cmd 1 "$TIMED --max-retry-wait 2s $W/ra.txt > $W/ra.jsonl; $ELAPSED > $W/ra.ms; exit \$rc"
run_cmd 1 "$TIMED $W/ra2.txt > $W/ra2.jsonl; $ELAPSED > $W/ra2.ms; exit \$rc"
NORETRY="result=dead status=429 'warnings!~retried'"
pcheck "jl $W/ra.jsonl --rec $Y/ra/3600/b $NORETRY --rec $Y/ra-once/3/b $NORETRY"
pcheck "jl $W/ra2.jsonl --rec $Y/ra/3600/c $NORETRY"
pcheck "py $W/py.log --n /ra/3600/b 1 --n /ra-once/3/b 1 --n /ra/3600/c 1"
check "test \"\$(cat $W/ra.ms)\" -lt 5000 && test \"\$(cat $W/ra2.ms)\" -lt 5000"
# --max-retries 0: the first answer stands.
printf '%s\n' "$Y/ra-once/1/d" "$Y/s503-once/d" > "$W/r0.txt"
run_cmd 1 "$LC --max-retries 0 --format jsonl $W/r0.txt > $W/r0.jsonl"
pcheck "jl $W/r0.jsonl --rec $Y/ra-once/1/d result=dead status=429 --rec $Y/s503-once/d result=dead status=503"
pcheck "py $W/py.log --n /ra-once/1/d 1 --n /s503-once/d 1"

# ------------------------------------------------- warnings and exit status
# A slow URL (3 s, --slow 2s) and a redirect are warnings: exit 0.
printf '%s\n' "$Y/slow/3000" "$B/redir/old.html" "$B/list.html" > "$W/warn.txt"
run_cmd 0 "$LC --slow 2s --format jsonl $W/warn.txt > $W/warn.jsonl" \
    "expected exit status 0: warnings alone are no failure"
pcheck "jl $W/warn.jsonl --rec $Y/slow/3000 result=warning status=200 'warnings~^slow: [0-9]+\\.[0-9] s\$' 'warnings~^slow: ([3-9]|[1-9][0-9])\\.[0-9] s\$' --rec $B/redir/old.html result=warning 'warnings=[\"redirected to $B/redir/new.html\"]' final_url=$B/redir/new.html --rec $B/list.html result=ok warnings=[]"
# A crawl whose only findings are skips exits 0 too.
run_cmd 0 "$LC --crawl $B/scope/docs/a.html --exclude 'b\\.html' --format jsonl > $W/skips.jsonl" \
    "expected exit status 0: skipped URLs are no failure"
pcheck "jl $W/skips.jsonl --rec $B/scope/docs/b.html result=skipped"
# An unreachable host is named so, in file mode too.
echo "http://127.0.0.1:$CP/x.html" > "$W/closed.txt"
run_cmd 1 "$LC --format jsonl $W/closed.txt > $W/closed.jsonl"
pcheck "jl $W/closed.jsonl --rec http://127.0.0.1:$CP/x.html result=dead status=0 'error~^unreachable host: .'"

# --------------------------------------------------------- robots.txt, 2
# The group for taskfarm-linkcheck, not the one for other robots.
run_cmd 1 "$LC --crawl $Y/rb/index.html --format jsonl > $W/rb.jsonl"
pcheck "jl $W/rb.jsonl --urls $Y/rb/index.html $Y/rb/stars/a.html $Y/rb/botonly/a.html $Y/rb/botonly/open.html $Y/small $Y/rb/missing.html --rec $Y/rb/botonly/a.html result=skipped 'skip=robots.txt disallows it' --rec $Y/rb/botonly/open.html result=ok parsed=true --rec $Y/rb/stars/a.html result=ok parsed=true --rec $Y/rb/missing.html result=dead status=404"
pcheck "py $W/py.log --n /rb/botonly/a.html 0 --n /rb/stars/a.html 1"

# ------------------------------------------------------------------ access
# Basic auth from a netrc file: 401 without it; with it, the pages and the
# crawl below them, and the password is in no output.
echo "$B/auth/child.html" > "$W/auth.txt"
run_cmd 1 "$LC --format jsonl $W/auth.txt > $W/noauth.jsonl"
pcheck "jl $W/noauth.jsonl --rec $B/auth/child.html result=dead status=401"
M0=$(mark)
run_cmd 0 "$LC --netrc $W/netrc --format jsonl --crawl $B/auth/index.html > $W/auth.jsonl 2> $W/auth.err"
pcheck "jl $W/auth.jsonl --urls $B/auth/index.html $B/auth/child.html --rec $B/auth/child.html result=ok status=200"
pcheck "ngx $M0 $(mark) --user '^/auth/' tfuser"
run_cmd 0 "$LC --netrc $W/netrc --format csv $W/auth.txt > $W/auth.csv 2>&1"
check "! grep -r -l -F -e $PW $W/auth.jsonl $W/auth.err $W/auth.csv $W/noauth.jsonl"
# Cookies from a file, in Netscape's format or as Set-Cookie lines.
echo "$B/cookie/page.html" > "$W/cookie.txt"
run_cmd 1 "$LC --format jsonl $W/cookie.txt > $W/nocookie.jsonl"
run_cmd 0 "$LC --cookies $W/cookies.txt --format jsonl $W/cookie.txt > $W/cookie.jsonl"
run_cmd 0 "$LC --cookies $W/cookies-h.txt --format jsonl $W/cookie.txt > $W/cookie-h.jsonl"
pcheck "jl $W/nocookie.jsonl --rec $B/cookie/page.html result=dead status=403"
pcheck "jl $W/cookie.jsonl --rec $B/cookie/page.html result=ok status=200"
pcheck "jl $W/cookie-h.jsonl --rec $B/cookie/page.html result=ok status=200"
# Headers, one or several.
printf '%s\n' "$B/header/page.html" "$B/header2/page.html" > "$W/header.txt"
run_cmd 1 "$LC --header 'X-TF-Token: h3ader' --format jsonl $W/header.txt > $W/header1.jsonl"
pcheck "jl $W/header1.jsonl --rec $B/header/page.html result=ok status=200 --rec $B/header2/page.html result=dead status=403"
run_cmd 0 "$LC --header 'X-TF-Token: h3ader' --header 'X-TF-Second: two' --format jsonl $W/header.txt > $W/header2.jsonl"
pcheck "jl $W/header2.jsonl --rec $B/header/page.html result=ok status=200 --rec $B/header2/page.html result=ok status=200"

# A self-signed certificate: dead without a word, fine with --insecure or
# with the certificate as the CA bundle; a crawl over HTTPS.
if [ "$TLS" = 1 ]; then
    # A handshake has more time than the other runs' 5 s: under a sanitizer
    # on a busy machine one took longer, and then the certificate's error
    # was a timeout.
    LCT="$LC --connect-timeout 20 --max-time 30"
    echo "$T/small" > "$W/tls.txt"
    run_cmd 1 "$LCT --format jsonl $W/tls.txt > $W/tls-no.jsonl"
    pcheck "jl $W/tls-no.jsonl --rec $T/small result=dead status=0 'error~(?i)certificate'"
    run_cmd 0 "$LCT --insecure --format jsonl $W/tls.txt > $W/tls-k.jsonl"
    pcheck "jl $W/tls-k.jsonl --rec $T/small result=ok status=200"
    run_cmd 0 "$LCT --cacert $W/cert.pem --format jsonl $W/tls.txt > $W/tls-ca.jsonl"
    pcheck "jl $W/tls-ca.jsonl --rec $T/small result=ok status=200"
    run_cmd 1 "$LCT --cacert $W/cert.pem --crawl $T/rb/index.html --format jsonl > $W/tls-crawl.jsonl"
    pcheck "jl $W/tls-crawl.jsonl --rec $T/rb/stars/a.html result=ok parsed=true --rec $T/rb/botonly/a.html result=skipped --rec $T/rb/missing.html result=dead status=404"
else
    e2e_skip "$LC --insecure $W/tls.txt" "openssl could not make a certificate"
fi

# ------------------------------------------------------ runs that stop
# --resume is refused, whatever the mode, and nothing is run.
echo "$B/list.html" > "$W/one.txt"
run_cmd 0 "$LC --joblog $W/res.joblog $W/one.txt > /dev/null"
cp "$W/res.joblog" "$W/res.joblog.before"
usage_error --resume -j 2 --joblog "$W/res.joblog" --resume linkcheck "$W/one.txt"
check "grep -q linkcheck $W/u$U.err"
usage_error --resume -j 2 --joblog "$W/res.joblog" --resume linkcheck --crawl "$B/index.html"
check "grep -q linkcheck $W/u$U.err && cmp $W/res.joblog.before $W/res.joblog"
# Stopped by SIGINT with --joblog, a linkcheck run does not suggest
# --resume.
printf '%s\n%s\n' "$Y/hang" "$B/list.html" > "$W/stop.txt"
run_cmd 130 "$TFQ -j 2 --joblog $W/stop.joblog linkcheck --max-time 60 $W/stop.txt > $W/stop.out 2> $W/stop.err & p=\$!; sleep 2; kill -INT \$p; wait \$p"
check "grep -q 'stopped by Interrupt' $W/stop.err && ! grep -e --resume -e 'to finish the run' -e 'to resume' $W/stop.err"

# ------------------------------------------------------------- bad input
# bad_value NEEDLE ARGS... - usage_error, for an option taskfarm knows.
bad_value()
{
    usage_error "$@"
    check "! grep -q 'unknown option' $W/u$U.err"
}
bad_value --check-external linkcheck --crawl "$B/index.html" --check-external maybe
bad_value --exclude linkcheck --crawl "$B/index.html" --exclude '('
bad_value --include linkcheck --crawl "$B/index.html" --include '[a'
bad_value --no-follow linkcheck --crawl "$B/index.html" --no-follow 'a{1'
bad_value --max-retries linkcheck --crawl "$B/index.html" --max-retries many
bad_value --max-retry-wait linkcheck --crawl "$B/index.html" --max-retry-wait soon
bad_value --slow linkcheck --crawl "$B/index.html" --slow never
bad_value --header linkcheck --crawl "$B/index.html" --header 'no colon'

pcheck_all
e2e_finish
