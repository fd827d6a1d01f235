#!/usr/bin/env python3
# make-entities.py - writes entities.h, the named character references of
# HTML for html.c, from Python's copy of the HTML standard's table
# (html.entities.html5). Run it from anywhere; the file it writes is kept in
# the repository, so building needs no Python.
import os
from html.entities import html5

HERE = os.path.dirname(os.path.abspath(__file__))


def c_string(s):
    """A C string literal of the UTF-8 bytes of S, octal escapes for all
    but letters and digits (a hex escape would swallow a following digit)."""
    out = []
    for b in s.encode("utf-8"):
        c = chr(b)
        out.append(c if c.isascii() and c.isalnum() else "\\%03o" % b)
    return '"' + "".join(out) + '"'


def main():
    # Every name has a form with ';'; some of the old ones (HTML 4's) are
    # also recognized without it, which is what LEGACY says.
    names = sorted(k[:-1] for k in html5 if k.endswith(";"))
    legacy = {k for k in html5 if not k.endswith(";")}
    for k in legacy:
        assert html5[k] == html5[k + ";"]
    longest = max(len(n) for n in names)
    longest_legacy = max(len(n) for n in legacy)
    lines = [
        "/* entities.h - the named character references of HTML, sorted by",
        " * name (byte order); written by make-entities.py from Python's",
        " * html.entities.html5, do not edit. Included by html.c alone. */",
        "#ifndef TF_LC_ENTITIES_H",
        "#define TF_LC_ENTITIES_H",
        "",
        "#include <stdbool.h>",
        "",
        "/* The longest name, without its ';'. */",
        "#define LC_ENTITY_MAX %d" % longest,
        "/* The longest name recognized without ';'. */",
        "#define LC_ENTITY_LEGACY_MAX %d" % longest_legacy,
        "",
        "/* NAME without its ';', TEXT its UTF-8; LEGACY: it is recognized",
        " * without the ';' too. */",
        "struct lc_entity {",
        "    const char *name;",
        "    const char *text;",
        "    bool legacy;",
        "};",
        "",
        "static const struct lc_entity lc_entities[] = {",
    ]
    for n in names:
        lines.append("    {%s, %s, %s}," % (c_string(n), c_string(html5[n + ";"]),
                                          "true" if n in legacy else "false"))
    lines += ["};", "", "#endif /* TF_LC_ENTITIES_H */", ""]
    with open(os.path.join(HERE, "entities.h"), "w") as f:
        f.write("\n".join(lines))


main()
