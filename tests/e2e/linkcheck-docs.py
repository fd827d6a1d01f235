"""linkcheck-docs.py - the model of a crawl of a static site served by
nginx, and the check of taskfarm linkcheck's output against it
(tests/e2e/linkcheck-docs.sh, bench/linkcheck.sh).

  linkcheck-docs.py model ROOT BASE START OUT
      crawls ROOT as nginx serves it at BASE, from START (a path), and
      writes the model to OUT (JSON); prints its counts and dead links
  linkcheck-docs.py check MODEL JSONL
      JSONL (taskfarm's --format jsonl) reports what MODEL says: the same
      URLs, the same dead ones with their status, error and pages, nothing
      off the site
  linkcheck-docs.py sane MODEL
      MODEL is worth comparing with: 100 pages parsed or more, a dead URL
      and a broken anchor among them
  linkcheck-docs.py dead MODEL
      prints the dead URLs of MODEL, broken anchors ("URL#FRAGMENT")
      included, sorted
The model shares no code with taskfarm: it reads the pages with Python's
html.parser, resolves links with urllib.parse, and decides what nginx
answers from the file system. Each check prints what is wrong and exits 1,
or exits 0.
"""
import collections
import html.parser
import json
import multiprocessing
import os
import re
import sys
import urllib.parse

FAIL = []


def fail(msg):
    FAIL.append(msg)


def done():
    for m in FAIL[:40]:
        print(m)
    if len(FAIL) > 40:
        print("... and %d more" % (len(FAIL) - 40))
    sys.exit(1 if FAIL else 0)


# ------------------------------------------------------------- URLs
UNRESERVED = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                 b"0123456789-._~")
HEX = "0123456789abcdefABCDEF"
IGNORED_SCHEMES = ("mailto", "javascript", "tel", "data", "about")


def fix_escapes(s):
    """RFC 3986 6.2.2: the escapes of unreserved characters decoded, the
    others with upper-case hex digits; a '%' that starts none is left."""
    out = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == "%" and i + 2 < len(s) and s[i + 1] in HEX and \
                s[i + 2] in HEX:
            v = int(s[i + 1:i + 3], 16)
            out.append(chr(v) if v in UNRESERVED else "%" + s[i + 1:i + 3]
                       .upper())
            i += 3
        else:
            out.append(c)
            i += 1
    return "".join(out)


def encode(s):
    """What a browser escapes in a URL it sends: spaces, controls and every
    byte past ASCII (as UTF-8)."""
    out = []
    for b in s.encode("utf-8", "surrogateescape"):
        if b <= 0x20 or b >= 0x7f:
            out.append("%%%02X" % b)
        else:
            out.append(chr(b))
    return "".join(out)


def remove_dots(path):
    """RFC 3986 5.2.4."""
    out = []
    segs = path.split("/")
    for i, seg in enumerate(segs):
        last = i == len(segs) - 1
        if seg == ".":
            if last:
                out.append("")
        elif seg == "..":
            if len(out) > 1:
                out.pop()
            if last:
                out.append("")
        else:
            out.append(seg)
    r = "/".join(out)
    return r if r.startswith("/") else "/" + r


def clean(link):
    """A link as a browser reads it from an attribute: no blanks or
    controls at its ends, no tabs or line breaks inside."""
    link = link.strip("".join(chr(c) for c in range(0x21)))
    return re.sub("[\t\n\r]", "", link)


def resolve(base, link):
    """(url, fragment) of LINK on a page at BASE: the absolute URL,
    normalized (no fragment; scheme and host lower-case; no default port;
    no dot segments; escapes as fix_escapes() leaves them), and the
    fragment percent-decoded ("" for none); None for what is no link
    (empty, mailto: and the like, a fragment alone that names no place:
    "#", "#top"); ValueError when it is no URL. A fragment alone ("#intro")
    is a link to the page at BASE, as in a browser."""
    link = clean(link)
    if link == "":
        return None
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):", link)
    if m and m.group(1).lower() in IGNORED_SCHEMES:
        return None
    # Backslashes in the path are slashes to a browser (http and https).
    head = re.split(r"[?#]", link, 1)[0]
    if not m or m.group(1).lower() in ("http", "https"):
        link = head.replace("\\", "/") + link[len(head):]
    url = urllib.parse.urljoin(base, link)
    u = urllib.parse.urlsplit(url)
    scheme = u.scheme.lower()
    frag = urllib.parse.unquote(u.fragment, errors="surrogateescape")
    if frag == "top" or frag.startswith(":~:"):
        frag = ""
    if link.startswith("#") and frag == "":
        return None
    if scheme not in ("http", "https"):
        return (url.split("#", 1)[0], frag, scheme)
    host = u.hostname or ""
    port = u.port  # ValueError when it is no port
    if host == "":
        raise ValueError("no host")
    netloc = host.lower()
    if ":" in netloc:
        netloc = "[" + netloc + "]"
    if port is not None and port != (80 if scheme == "http" else 443):
        netloc += ":%d" % port
    path = remove_dots(fix_escapes(encode(u.path or "/")))
    query = "?" + fix_escapes(encode(u.query)) if "?" in url.split("#")[0] \
        else ""
    return (scheme + "://" + netloc + path + query, frag, scheme)


# ----------------------------------------------------------- nginx
def nginx(root, path):
    """(status, file, content type, final path) of a GET of PATH (the URL's
    path and query) from nginx serving ROOT with "index index.html" and the
    types of scripts/httpd.sh: FILE is the file served, or None; FINAL is
    PATH, or where nginx redirected it (a folder's path without its final
    '/' is redirected to it)."""
    query = "?" + path.split("?", 1)[1] if "?" in path else ""
    path = path.split("?", 1)[0]
    if re.search(r"%(?![0-9A-Fa-f]{2})", path):
        return (400, None, None, path + query)
    raw = urllib.parse.unquote_to_bytes(path)
    if b"\0" in raw:
        return (400, None, None, path + query)
    full = os.path.join(os.fsencode(root), raw.lstrip(b"/"))
    if raw.endswith(b"/"):
        if not os.path.isdir(full):
            return (404, None, None, path + query)
        index = os.path.join(full, b"index.html")
        if os.path.isfile(index):
            return (200, index, "text/html", path + query)
        return (403, None, None, path + query)
    if os.path.isfile(full):
        ext = os.path.splitext(full)[1].lower().decode("latin-1")
        return (200, full, TYPES.get(ext), path + query)
    if os.path.isdir(full):
        # 301 to the folder, then as above.
        return nginx(root, path + "/" + query)
    return (404, None, None, path + query)


# The types of scripts/httpd.sh that are parsed for links.
TYPES = {".html": "text/html", ".htm": "text/html",
         ".xhtml": "application/xhtml+xml", ".css": "text/css"}


# ------------------------------------------------------------- pages
URL_ATTRS = {
    "href": {"a", "area", "link"},
    "src": {"img", "script", "iframe", "frame", "embed", "audio", "video",
            "source", "track", "input"},
    "data": {"object"},
    "poster": {"video"},
    "cite": {"blockquote", "q", "del", "ins"},
    "longdesc": {"img", "frame", "iframe"},
}
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)"""
                     r"""|@import\s+(?:"([^"]*)"|'([^']*)')""")


def css_links(text):
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return ["".join(g for g in m.groups() if g)
            for m in CSS_URL.finditer(text)]


class Page(html.parser.HTMLParser):
    """The links (as written, entities decoded), the first <base href>, and
    the anchors (every id, the name of every <a>) of a page."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.links = []
        self.anchors = set()
        self.base = None
        self.kinds = collections.Counter()
        self.in_style = False

    def handle_starttag(self, tag, attrs):
        a = {}
        for k, v in attrs:
            a.setdefault(k, v if v is not None else "")
        if "id" in a:
            self.anchors.add(a["id"])
        if tag == "a" and "name" in a:
            self.anchors.add(a["name"])
        if tag == "base" and "href" in a and self.base is None:
            self.base = clean(a["href"])
        for attr, tags in URL_ATTRS.items():
            if tag in tags and attr in a:
                self.add("%s %s" % (tag, attr), a[attr])
        if tag in ("img", "source") and "srcset" in a:
            for cand in a["srcset"].split(","):
                cand = cand.strip().split()
                if cand:
                    self.add("%s srcset" % tag, cand[0])
        if tag == "meta" and a.get("http-equiv", "").lower() == "refresh":
            m = re.match(r"\s*\d*\s*[;,]\s*url\s*=\s*['\"]?([^'\"]*)",
                         a.get("content", ""), re.I)
            if m:
                self.add("meta refresh", m.group(1))
        if "style" in a:
            for u in css_links(a["style"]):
                self.add("style url()", u)
        self.in_style = tag == "style"

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        self.in_style = False

    def handle_data(self, data):
        if self.in_style:
            for u in css_links(data):
                self.add("<style> url()", u)

    def add(self, kind, link):
        self.kinds[kind] += 1
        self.links.append(link)


def parse(item):
    """(links, anchors, base, kinds) of the file PATH of type CTYPE (ITEM is
    the pair)."""
    path, ctype = item
    with open(path, "rb") as f:
        text = f.read().decode("utf-8", "replace")
    if ctype == "text/css":
        links = css_links(text)
        return (links, None, None, {"css url()": len(links)})
    p = Page()
    p.feed(text)
    p.close()
    return (p.links, p.anchors, p.base, dict(p.kinds))


def parse_all(root):
    """parse() of every file of ROOT nginx would give a type that is parsed,
    on every CPU: by path."""
    items = []
    for d, _, files in os.walk(os.fsencode(root)):
        for name in files:
            ext = os.path.splitext(name)[1].lower().decode("latin-1")
            path = os.path.join(d, name)
            if ext in TYPES and os.path.isfile(path):  # no dangling link
                items.append((path, TYPES[ext]))
    with multiprocessing.Pool(min(os.cpu_count() or 1, 4)) as pool:
        return dict(zip((p for p, _ in items),
                        pool.map(parse, items, chunksize=8)))


def model(root, base, start, out):
    site = urllib.parse.urlsplit(base)
    origin = site.scheme + "://" + site.netloc
    recs = {}  # url -> {"status", "file", "ctype", "final", "refs"}
    anchors = {}  # url of an HTML page -> its anchors
    arefs = collections.defaultdict(set)  # (url, frag) -> pages it is on
    kinds = collections.Counter()
    invalid = collections.defaultdict(set)  # link text -> pages
    todo = collections.deque()
    parsed = parse_all(root)

    def record(url):
        if url not in recs:
            status, path, ctype, final = nginx(root, url[len(origin):])
            recs[url] = {"status": status, "file": path, "ctype": ctype,
                         "final": origin + final, "refs": set(),
                         "parsed": status == 200 and ctype is not None}
            if recs[url]["parsed"]:
                todo.append(url)
        return recs[url]

    record(origin + start)
    while todo:
        url = todo.popleft()
        rec = recs[url]
        if rec["file"] not in parsed:
            parsed[rec["file"]] = parse((rec["file"], rec["ctype"]))
        links, ids, page_base, k = parsed[rec["file"]]
        kinds.update(k)
        # Links are relative to where the page was found in the end (a
        # folder's index after its redirect), or to its <base href>.
        page_base = urllib.parse.urljoin(rec["final"], page_base or "")
        if ids is not None:
            anchors[url] = ids
        for link in links:
            try:
                r = resolve(page_base, link)
            except ValueError:
                invalid[clean(link)].add(url)
                continue
            if r is None:
                continue
            target, frag, scheme = r
            if not target.startswith(origin + "/"):
                continue  # off the site: left out of the run
            record(target)["refs"].add(url)
            if frag:
                arefs[(target, frag)].add(url)
    nparsed = sum(1 for r in recs.values() if r["parsed"])
    broken = {}
    for (target, frag), refs in arefs.items():
        if target in anchors and frag not in anchors[target]:
            broken[target + "#" + frag] = {
                "status": recs[target]["status"], "refs": refs,
                "error": "anchor #%s not found" % frag}
    m = {"origin": origin,
         "urls": {u: {"status": r["status"], "refs": sorted(r["refs"]),
                      "parsed": r["parsed"],
                      "page": r["parsed"] and r["ctype"] != "text/css"}
                  for u, r in recs.items()},
         "broken_anchors": {u: {"status": b["status"], "error": b["error"],
                                "refs": sorted(b["refs"])}
                            for u, b in broken.items()},
         "invalid": {t: sorted(v) for t, v in invalid.items()},
         "parsed": nparsed, "kinds": dict(kinds)}
    with open(out, "w") as f:
        json.dump(m, f, indent=1, sort_keys=True)
    dead = sorted(u for u, r in recs.items() if r["status"] >= 400)
    print("model: %d URLs of the site, %d pages parsed, %d dead, %d broken "
          "anchors, %d links that are no URL"
          % (len(recs), nparsed, len(dead), len(broken), len(invalid)))
    print("links by kind: " + ", ".join(
        "%s %d" % kv for kv in sorted(kinds.items())))
    for u in dead:
        print("dead %d %s (on %s)" % (recs[u]["status"], u,
                                      ", ".join(sorted(recs[u]["refs"])[:3])))
    for u in sorted(broken):
        print("dead anchor %s (on %s)" % (u, ", ".join(
            sorted(broken[u]["refs"])[:3])))
    for t in sorted(invalid):
        print("dead, no URL: %r (on %s)" % (t, ", ".join(invalid[t][:3])))


# ------------------------------------------------------------- check
def check(model_path, out):
    with open(model_path) as f:
        m = json.load(f)
    got = {}
    with open(out) as f:
        for n, line in enumerate(f, 1):
            try:
                r = json.loads(line)
            except ValueError:
                fail("%s:%d: not JSON: %r" % (out, n, line[:200]))
                continue
            if r.get("url") in got:
                fail("%s:%d: %s reported twice" % (out, n, r.get("url")))
            got[r.get("url")] = r
    want = {}
    for u, e in m["urls"].items():
        want[u] = {"dead": e["status"] >= 400, "status": e["status"],
                   "refs": e["refs"], "error": None, "parsed": e["parsed"]}
    for u, e in m["broken_anchors"].items():
        want[u] = {"dead": True, "status": e["status"], "refs": e["refs"],
                   "error": e["error"], "parsed": False}
    for t, refs in m["invalid"].items():
        want[t] = {"dead": True, "status": None, "refs": refs, "error": None,
                   "parsed": False}
    for u in sorted(set(want) & set(got)):
        w, r = want[u], got[u]
        res = r.get("result")
        if w["dead"] != (res == "dead"):
            fail("%s: %s is %s (status %s, error %r), the model says %s "
                 "(status %s)" % (out, u, res, r.get("status"),
                                  r.get("error"),
                                  "dead" if w["dead"] else "ok", w["status"]))
            continue
        if res not in ("ok", "warning", "dead"):
            fail("%s: %s: result %r" % (out, u, res))
        if w["status"] is not None and r.get("status") != w["status"]:
            fail("%s: %s: status %r, the model %r" % (out, u, r.get("status"),
                                                      w["status"]))
        if w["error"] is not None and r.get("error") != w["error"]:
            fail("%s: %s: error %r, the model %r" % (out, u, r.get("error"),
                                                     w["error"]))
        # Every page and style sheet is parsed for links, nothing else.
        if r.get("parsed") is not w["parsed"]:
            fail("%s: %s: parsed %r, the model %r" % (out, u, r.get("parsed"),
                                                      w["parsed"]))
        if not w["dead"]:
            continue
        # Where a dead link is: every page, when there are few enough to
        # be listed.
        count = r.get("found_on_count")
        if count != len(w["refs"]):
            fail("%s: %s: found_on_count %r, the model %d pages"
                 % (out, u, count, len(w["refs"])))
        elif count <= 100 and sorted(r.get("found_on") or []) != w["refs"]:
            fail("%s: %s: found on %r, the model %r"
                 % (out, u, sorted(r.get("found_on") or [])[:5],
                    w["refs"][:5]))
    # What is missing or too much last: one cause (a kind of link not
    # read) makes many of them.
    extra = sorted(set(got) - set(want))
    missing = sorted(set(want) - set(got))
    if extra or missing:
        fail("%s: %d URLs reported that the model has not, %d of the "
             "model's not reported" % (out, len(extra), len(missing)))
    for u in extra:
        r = got[u]
        fail("%s: %s reported (%s %s %s), not in the model; on %s"
             % (out, u, r.get("result"), r.get("status"), r.get("error"),
                (r.get("found_on") or [])[:3]))
    for u in missing:
        fail("%s: %s not reported (the model: %s, on %s)"
             % (out, u, "dead" if want[u]["dead"] else "ok",
                want[u]["refs"][:3]))
    done()


def sane(model_path):
    with open(model_path) as f:
        m = json.load(f)
    if m["parsed"] < 100:
        fail("%s: %d pages parsed, not a site" % (model_path, m["parsed"]))
    if not any(r["status"] >= 400 for r in m["urls"].values()):
        fail("%s: no dead URL" % model_path)
    if not m["broken_anchors"]:
        fail("%s: no broken anchor" % model_path)
    done()


def dead(model_path):
    with open(model_path) as f:
        m = json.load(f)
    out = [u for u, r in m["urls"].items() if r["status"] >= 400]
    out += list(m["broken_anchors"]) + list(m["invalid"])
    for u in sorted(set(out)):
        print(u)


def main():
    a = sys.argv[1:]
    if a[0] == "model":
        model(a[1], a[2], a[3], a[4])
    elif a[0] == "check":
        check(a[1], a[2])
    elif a[0] == "sane":
        sane(a[1])
    elif a[0] == "dead":
        dead(a[1])
    else:
        sys.exit("linkcheck-docs.py: unknown command %r" % a[0])


main()
