#!/usr/bin/env python3
# make-corpus.py - writes the seed corpora of the fuzz targets into
# tests/fuzz/corpus/<target>/: a few small valid inputs each, which the
# fuzzer mutates. Run it again after changing an input format; the files it
# writes are kept in the repository.
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------- source
# One control byte (fuzz_source.c): bits 0-1 max line {1, 3, 8, 64},
# bits 2-3 mode (0 file, 1 prescanned file, 2 pipe in pieces, 3 pipe),
# bits 4-7 piece size 1 + 13 * n.
def src_ctrl(max_idx, mode, piece=0):
    return bytes([max_idx | mode << 2 | piece << 4])


TASKS = (b"echo first\n\n# a comment\n   # indented comment\n \t \n"
         b"sleep 1; echo 'two'\r\n  indented task\nlast without newline")
write("source", "file", src_ctrl(3, 0) + TASKS)
write("source", "prescan", src_ctrl(3, 1) + TASKS)
write("source", "pipe-pieces", src_ctrl(3, 2, 1) + TASKS)
write("source", "pipe-whole", src_ctrl(3, 3) + TASKS)
write("source", "long-line", src_ctrl(2, 0) + b"short\nthis line is too long\n")
write("source", "nul-byte", src_ctrl(3, 1) + b"a\nb\x00c\n")
write("source", "one-byte-lines", src_ctrl(0, 2) + b"a\nb\n\r\n#\nc")

# -------------------------------------------------------------- template
# One control byte (fuzz_template.c): bits 0-1 the task id, bits 2-4 the
# slot; then the template, a NUL byte and the line.
def tmpl(ctrl, template, line):
    return bytes([ctrl]) + template + b"\0" + line


write("template", "line", tmpl(0, b"echo {}", b"dir/file.tar.gz"))
write("template", "all", tmpl(2 | 6 << 2, b"cp {} {.}.bak {/} {//} {/.} {#} {%}",
                              b"/a/b.c"))
write("template", "no-placeholder", tmpl(1, b"wc -l", b"it's a $(file) `x`"))
write("template", "not-placeholders", tmpl(3 | 3 << 2, b"{x} { } {/./} {{}} {",
                                           b".hidden"))
write("template", "root-dir", tmpl(2 << 2, b"echo {//} {/.}", b"/x"))
write("template", "empty", tmpl(0, b"", b""))

# ------------------------------------------------------------------ wire
# Frames as src/wire.h describes them: a 12-byte header, then the payload.
MAGIC = 0x4D524654
HELLO, WORK, RESULTS, STOP, ERROR = 1, 2, 3, 4, 5
SUBMIT = 10


def frame(msg_type, payload):
    return struct.pack("<IBBBBI", MAGIC, 2, msg_type, 0, 0, len(payload)) + payload


def wbytes(b):
    return struct.pack("<I", len(b)) + b


def hello(pid, cpus, host):
    return struct.pack("<II", pid, cpus) + wbytes(host)


def work(chunk, fn, tasks):
    # Odd tasks say a memory need (the length's top bit), even ones none.
    p = struct.pack("<QII", chunk, len(tasks), fn)
    for task_id, data in tasks:
        if task_id % 2:
            p += struct.pack("<QIQ", task_id, len(data) | 0x80000000,
                             (task_id * 100) << 20) + data
        else:
            p += struct.pack("<Q", task_id) + wbytes(data)
    return p


def results(chunks_done, busy_us, res):
    p = struct.pack("<IQI", chunks_done, busy_us, len(res))
    # CPU time and peak memory follow only when one is not 0 (signal bit
    # 0x40000).
    for task_id, status, sig, start, runtime, cpu, peak, out, err in res:
        if cpu or peak:
            p += struct.pack("<QiiqQQQ", task_id, status, sig | 0x40000,
                             start, runtime, cpu, peak)
        else:
            p += struct.pack("<QiiqQ", task_id, status, sig, start, runtime)
        p += wbytes(out) + wbytes(err)
    return p


def submit(tasks):
    p = struct.pack("<I", len(tasks))
    for parent, data in tasks:
        p += struct.pack("<Q", parent) + wbytes(data)
    return p


def error(code, msg):
    return struct.pack("<I", code) + wbytes(msg)


W = work(7, 0, [(1, b"echo a"), (2, b""), (3, b"\x00\xff")])
R = results(1, 1234, [(1, 0, 0, 1700000000000000, 5, 4, 1 << 20, b"a\n", b""),
                      (3, 127, 0, 1700000000000001, 9, 0, 0, b"",
                       b"sh: x: not found\n"),
                      (4, 137, 9 | 0x20000, 1700000000000002, 90, 80,
                       300 << 20, b"", b"")])
write("wire", "hello", frame(HELLO, hello(4242, 2, b"node01")))
write("wire", "work", frame(WORK, W))
write("wire", "results", frame(RESULTS, R))
write("wire", "error", frame(ERROR, error(6, b"malformed WORK message")))
write("wire", "error-long", frame(ERROR, error(2, b"x" * 600)))
S = submit([(1, b"http://h/a\thttp://h/b"), (3, b""), (3, b"\x00\x01")])
write("wire", "submit", frame(SUBMIT, S))
write("wire", "payload-submit", S)
write("wire", "stream", frame(HELLO, hello(1, 1, b"h")) + frame(WORK, W) +
      frame(SUBMIT, S) + frame(RESULTS, R) + frame(STOP, b""))
write("wire", "payload-work", W)
write("wire", "payload-results", R)

# --------------------------------------------------------------- results
# The results file of src/results.h: a 16-byte header ("TFRESULT", u32
# format version, u32 0), then records of magic "TFR" and a version byte
# (0x1e: version 1, 0x1f: version 2, 0x20: version 3), u32 body length, u32 header check
# (CRC-32C of the record's u64 offset and its first 8 bytes), body, u32
# CRC-32C of the body. A version 1 body has a 56-byte fixed part with a
# reserved u32 at 36; version 2 makes that u32 the kind (0 task, 1 piece of
# output, 2 mark) and adds u64 out_end, out_total and err_total; version 3
# adds u64 cpu_us and peak_bytes.
def crc32c(data, crc=0):
    crc ^= 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283
TASK, PIECE, MARK = 0, 1, 2
TIMEOUT, LOST, EMITTED, PIECES = 1, 2, 4, 8


def res_hdr(version):
    return b"TFRESULT" + struct.pack("<II", version, 0)


RES_HDR = res_hdr(1)


def record(off, task_id, status=0, sig=0, flags=0, attempt=1, worker=0,
           host=b"node01", cmd=b"echo a", out=b"a\n", err=b"", version=1,
           kind=TASK, out_end=0, out_total=0, err_total=0, cpu_us=0,
           peak_bytes=0):
    body = struct.pack("<QQiiIIiIqQ", task_id, 0x9E3779B97F4A7C15, status,
                       sig, flags, attempt, worker,
                       kind if version >= 2 else 0, 1700000000000000, 1500)
    if version >= 2:
        body += struct.pack("<QQQ", out_end, out_total, err_total)
    if version >= 3:
        body += struct.pack("<QQ", cpu_us, peak_bytes)
    for field in (host, cmd, out, err):
        body += wbytes(field)
    head = b"TFR" + bytes([0x1d + version]) + struct.pack("<I", len(body))
    check = crc32c(struct.pack("<Q", off) + head)
    return head + struct.pack("<I", check) + body + struct.pack("<I", crc32c(body))


def results_file(recs, version=1):
    data = res_hdr(version)
    for kw in recs:
        data += record(len(data), **kw)
    return data


TWO = results_file([dict(task_id=1), dict(task_id=3, status=127, worker=1,
                                          cmd=b"nosuch", out=b"",
                                          err=b"sh: nosuch: not found\n")])
write("results", "empty", b"")
write("results", "header-only", RES_HDR)
write("results", "partial-header", RES_HDR[:8])
write("results", "two-records", TWO)
write("results", "torn-tail", TWO + record(len(TWO), 4)[:30])
write("results", "retry-timeout", results_file([
    dict(task_id=2, status=-1, sig=9, flags=TIMEOUT, attempt=1),
    dict(task_id=2, attempt=2, out=b"x" * 40)]))
# A damaged record with a whole one after it: an error, not a tail.
bad = bytearray(TWO)
bad[16 + 20] ^= 0xFF
write("results", "corrupt-middle", bytes(bad))
# The header of an older version, of the current one, and of one after it.
write("results", "version-2", res_hdr(2))
write("results", "version-3", res_hdr(3))
write("results", "version-4", res_hdr(4))

# Version 2: the same two tasks; a run writing to --output (a mark of the
# file at its start), a task in pieces and marks of output written; a file
# of version 1 a later run appended to; a record of an unknown kind before
# a good one; the pieces of a task whose record a killed run never wrote.
V2 = dict(version=2)
TWO_V2 = results_file([dict(task_id=1, **V2),
                       dict(task_id=3, status=127, worker=1, cmd=b"nosuch",
                            out=b"", err=b"sh: nosuch: not found\n", **V2)],
                      version=2)
write("results", "v2-two-records", TWO_V2)
OUT = b"/scratch/run/out.txt"
write("results", "v2-pieces-and-marks", results_file([
    dict(task_id=0, kind=MARK, host=b"", cmd=OUT, out=b"", out_end=0, **V2),
    dict(task_id=5, kind=PIECE, cmd=b"", out=b"x" * 50, **V2),
    dict(task_id=5, kind=PIECE, cmd=b"", out=b"", err=b"warn\n", **V2),
    dict(task_id=5, flags=PIECES | EMITTED, out=b"tail\n", out_end=55,
         out_total=55, err_total=5, **V2),
    dict(task_id=6, out=b"six\n", **V2),
    dict(task_id=6, kind=MARK, cmd=b"", out=b"", out_end=59, **V2)],
    version=2))
write("results", "v2-after-v1", results_file([
    dict(task_id=1), dict(task_id=2, flags=LOST),
    dict(task_id=2, attempt=2, flags=EMITTED, out_end=2, **V2),
    dict(task_id=4, **V2)], version=2))
write("results", "v2-unknown-kind", results_file([
    dict(task_id=1, **V2), dict(task_id=2, kind=3, **V2),
    dict(task_id=3, **V2)], version=2))
ORPHAN = results_file([dict(task_id=1, **V2),
                       dict(task_id=7, kind=PIECE, cmd=b"", out=b"y" * 64,
                            **V2)], version=2)
write("results", "v2-torn-pieces", ORPHAN + record(
    len(ORPHAN), 7, kind=PIECE, cmd=b"", out=b"z" * 64, **V2)[:70])

# Version 3: CPU time and peak memory, a task the out-of-memory killer
# ended, after records of versions 1 and 2 a later run appended to.
OOM = 16
V3 = dict(version=3)
write("results", "v3-usage", results_file([
    dict(task_id=1), dict(task_id=2, **V2),
    dict(task_id=3, cpu_us=2500000, peak_bytes=200 << 20, **V3),
    dict(task_id=4, status=137, sig=9, flags=OOM, cpu_us=80000,
         peak_bytes=300 << 20, **V3),
    dict(task_id=5, kind=PIECE, cmd=b"", out=b"p" * 40, **V3),
    dict(task_id=5, flags=PIECES, out=b"q\n", out_total=42,
         cpu_us=(1 << 64) - 1, peak_bytes=0, **V3)], version=3))

# ------------------------------------------------------------------ html
# A page as a server sends it (fuzz_html.c): any bytes.
PAGE = (b"<!DOCTYPE html><html><head><base href='/b/'><title>t</title>"
        b"<link rel=stylesheet href=\"s.css\"><style>a{}/*<a href=no>*/</style>"
        b"<script src=x.js></script><script>if (a < b) {}</script></head>"
        b"<body><!-- <a href=hidden> --><a href=\"x&amp;y\" class='c'>t</a>"
        b"<img src=i.png><a HREF=u Href=second><area href=ar>"
        b"<a href='http://h:1/&#x41;'>A</a><a href=mailto:x@y>m</a>"
        b"<iframe src=//other.org/f></iframe><a href='#top'>top</a>"
        b"<a href=ftp://h/f>f</a></body></html>\n")
write("html", "page", PAGE)
write("html", "cut-in-a-tag", PAGE[:PAGE.index(b"class='c'") + 4])
write("html", "entities", b"<a href=\"?a=1&amp;b=2&lt;&gt;&quot;&apos;\">"
      b"<a href='&#47;x&#x2F;y&#X2f;z'><a href='&#233;&#xe9;&#0;&#xD800;"
      b"&#99999999999;'><a href='a&b&amp&#;&#x;&nbsp;&#12'>")
write("html", "no-entities", b"<a href=one><A HREF='two words'>"
      b"<img/src=three><a href = \"four\" id=y><a\nhref\n=\nfive\n>"
      b"<a data-x='href=no' href=six/><a download href=seven>")
write("html", "malformed", b"<<<<a<a href=1<a =x href=y><a ==== href=z>"
      b"<!--><a href=ok><!---><a href=ok2></a x='<a href=e>'><?x?>"
      b"<script></scripty><a href=s></script ><a href=\"\x00x\">"
      b"<style>\xff\xfe<a href=no></style\n><a href=\"unterminated")
write("html", "kinds", b"<img src=i.png srcset='a.png 1x, b,c.png 2x,, d.png'"
      b" longdesc=l.html><video poster=p.png src=v.mp4><object data=o.svg>"
      b"<blockquote cite=c.html><input type=image src=in.png><body "
      b"background=bg.png><form action=/search><svg><image href=s.png/>"
      b"<use xlink:href=u.svg#i /></svg><meta http-equiv=refresh "
      b"content=\"0; URL='next.html'\"><link rel=preconnect href=//cdn>")
write("html", "css", b"<style>@import 'a.css'; @import url(b.css);"
      b"p{background:url( c.png )} q{x:url(\"d e.png\")} /* url(no) */"
      b"r{y:image-set('f.png' 1x, url(g.png) 2x)} s{z:u\\72l(\\68.png)}"
      b"@namespace x url(http://ns); t{w:url(bad(url)}</style>"
      b"<div style='background:url(&quot;h.png&quot;)'>")
write("html", "charset", b"<meta http-equiv=Content-Type content='text/html;"
      b" charset=iso-8859-1'><a href=caf\xe9.html>caf\xe9</a>"
      b"<a href='&eacute;&copy&copy=&#x80;'>")
write("html", "anchors", b"<h1 id=intro>x</h1><a name=old href=#intro>"
      b"<a href='p.html#caf%C3%A9'><a href=#top><a href='#:~:text=x'>"
      b"<a href=http:q.html#s><a href=sub\\r.html><p id=\"a\tb\" id=c>")

# ------------------------------------------------------------------- url
# One control byte (fuzz_url.c): bit 0 the link is from a page, bits 1-2
# the base (none, or one of three pages); then the link.
def url(ctrl, link):
    return bytes([ctrl]) + link


write("url", "absolute", url(0, b"HTTP://Example.COM:80/a/../b?x=%7e#frag"))
write("url", "relative", url(1 | 1 << 1, b"../x/./y.html?q=%2f%61#f"))
write("url", "scheme-relative", url(1 | 2 << 1, b"//Other.ORG:443/p%2E%2e/q"))
write("url", "ignored", url(1 | 3 << 1, b"MailTo:someone@example.org"))
write("url", "other-scheme", url(0, b"ftp://h/f"))
write("url", "ipv6", url(0, b"http://[::ABCD]:8080/%2e%2E/x"))
write("url", "blanks", url(1 | 1 << 1, b" \t a b\n.html%zz%2\x00 "))
write("url", "invalid", url(0, b"http://a b/"))
write("url", "no-scheme", url(0, b"example.com/page"))
write("url", "backslashes", url(1 | 1 << 1, b"\\\\h\\a\\b?c\\d#e\\f"))
write("url", "same-scheme", url(1 | 1 << 1, b"http:page.html?q"))
write("url", "slashes", url(0, b"http:/\\example.com"))

# -------------------------------------------------------------------- mm
# A Matrix Market file (fuzz_mm.c): any bytes.
write("mm", "array", b"%%MatrixMarket matrix array real general\n"
      b"% a comment\n\n2 3\n1.5\n-2\n0\n4e10 5\n  6.25e-3\n")
write("mm", "coordinate", b"%%MatrixMarket matrix coordinate real general\n"
      b"3 3 5\n1 1 2.5\n2 3 -1\n3 2 7\n1 1 0.5\n3 3 1e-300\n")
write("mm", "symmetric", b"%%MatrixMarket matrix coordinate integer "
      b"symmetric\n%\n3 3 4\n1 1 3\n2 1 5\n3 2 -4\n3 3 6\n")
write("mm", "skew-array", b"%%matrixmarket MATRIX Array Double "
      b"skew-symmetric\r\n3 3\r\n1\r\n2\r\n3\r\n")
write("mm", "too-big", b"%%MatrixMarket matrix coordinate real general\n"
      b"32768 32768 0\n")
write("mm", "overflow", b"%%MatrixMarket matrix coordinate real general\n"
      b"1 1 2\n1 1 1.5e308\n1 1 1.5e308\n")
write("mm", "bad-entry", b"%%MatrixMarket matrix coordinate real general\n"
      b"2 2 2\n1 1 nan\n3 1 2\n")
