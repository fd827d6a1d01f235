/* html.c - the linkcheck job's reader of HTML pages and style sheets: their
 * character set, the links and anchors of any bytes as browsers find them,
 * and what a worker submits for them */
#include "linkcheck.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "entities.h"
#include "taskfarm.h"

/*
 * The reader follows the HTML standard's tokenizer where it matters for
 * links, and its CSS counterpart in style sheets, <style> elements and
 * style attributes. A tag counts only once its '>' is read: a tag that the
 * end of the bytes cuts short is dropped, as the standard drops a tag at
 * the end of the file, so a page cut by --max-body never gives a torn link
 * and a whole page that ends inside a tag gives what a browser sees. In
 * CSS, which closes what the end of a file leaves open, a url() or a string
 * that runs to the end is a link only when the bytes are the whole file.
 * Text is UTF-8 by the time links are read (lc__page_links() converts it);
 * lc__html_links() reads bytes as they are.
 *
 * Where browsers and link checkers part, the reader takes what a web team
 * running it every night expects: a <link rel=preconnect> or dns-prefetch
 * names a host, not a document, and is no link; a link to the page itself
 * that names no anchor ("#", "#top", a text fragment) is none either.
 */

/* ------------------------------------------------------------- UTF-8 */

int
lc__put_utf8(struct tf_buf *out, unsigned long cp)
{
    unsigned char b[4];
    size_t n;

    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | cp >> 6);
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | cp >> 12);
        b[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | cp >> 18);
        b[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return tf_buf_append(out, b, n);
}

/*
 * The length of the UTF-8 sequence at P (N > 0 bytes), or 0 when none
 * starts there: *PART is then how many bytes the Encoding standard's
 * decoder replaces by one U+FFFD (the "maximal subpart", 1 at least), and
 * *TORN says that they run to the end of the bytes, a sequence that the
 * bytes after them might complete.
 */
static size_t
utf8_len(const unsigned char *p, size_t n, size_t *part, bool *torn)
{
    unsigned lo = 0x80;
    unsigned hi = 0xBF;
    size_t need;
    size_t k;

    *part = 1;
    *torn = false;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) {
        need = 1;
    } else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
        need = 2;
        lo = p[0] == 0xE0 ? 0xA0 : 0x80;
        hi = p[0] == 0xED ? 0x9F : 0xBF;
    } else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
        need = 3;
        lo = p[0] == 0xF0 ? 0x90 : 0x80;
        hi = p[0] == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    for (k = 1; k <= need; k++) {
        if (k >= n) {
            *part = k;
            *torn = true;
            return 0;
        }
        if (p[k] < lo || p[k] > hi) {
            *part = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* The code point of the valid UTF-8 sequence of LEN bytes at P. */
static unsigned long
utf8_cp(const unsigned char *p, size_t len)
{
    unsigned long cp = len == 1 ? p[0] : p[0] & (0x7Fu >> len);
    size_t k;

    for (k = 1; k < len; k++)
        cp = cp << 6 | (p[k] & 0x3Fu);
    return cp;
}

/* The length of the valid UTF-8 that starts the N bytes at P: one pass,
 * ASCII at the speed of a compare. */
static size_t
utf8_valid(const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0;

    while (i < n) {
        size_t part;
        size_t len;
        bool torn;

        if (s[i] < 0x80) {
            i++;
            continue;
        }
        len = utf8_len(s + i, n - i, &part, &torn);
        if (len == 0)
            return i;
        i += len;
    }
    return n;
}

/* Whether the N bytes at P are UTF-8, but for a sequence torn at their end
 * when CUT; *VALID is then their length without it. */
static bool
is_utf8(const char *p, size_t n, bool cut, size_t *valid)
{
    size_t v = utf8_valid(p, n);
    size_t part = 0;
    bool torn = false;

    if (v < n)
        utf8_len((const unsigned char *)p + v, n - v, &part, &torn);
    *valid = v;
    return v == n || (cut && torn && v + part == n);
}

/*
 * Appends the N bytes at P to OUT as a field of a message: valid UTF-8,
 * with a U+FFFD for each bad sequence and each NUL, and a space for each
 * tab or line break, which would split the message.
 */
static int
put_text(struct tf_buf *out, const char *p, size_t n)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t run = 0;
    size_t i = 0;
    int rc = 0;

    while (rc == 0 && i < n) {
        size_t part = 1;
        size_t len;
        bool torn;

        if (s[i] >= 0x20 && s[i] < 0x80) {
            i++;
            continue;
        }
        if (s[i] >= 0x80) {
            len = utf8_len(s + i, n - i, &part, &torn);
            if (len > 0) {
                i += len;
                continue;
            }
        } else if (s[i] != '\t' && s[i] != '\n' && s[i] != '\r' &&
                   s[i] != '\0') {
            i++;
            continue;
        }
        rc = tf_buf_append(out, p + run, i - run);
        if (rc == 0 && s[i] != '\0' && s[i] < 0x80)
            rc = tf_buf_append(out, " ", 1);
        else if (rc == 0)
            rc = lc__put_utf8(out, 0xFFFD);
        i += part;
        run = i;
    }
    if (rc == 0)
        rc = tf_buf_append(out, p + run, n - run);
    return rc;
}

/* ---------------------------------------------------- character sets */

/* Code points of the bytes 0x80 to 0x9F in windows-1252, which also
 * replace those of numeric character references; 0: the byte's own. */
static const unsigned short cp1252_c1[32] = {
    0x20AC, 0,      0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
    0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017D, 0,
    0,      0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0,      0x017E, 0x0178,
};

/* The code point windows-1252 gives byte B (and a numeric reference to
 * B, for B from 0x80 to 0x9F). */
static unsigned long
cp1252(unsigned long b)
{
    if (b >= 0x80 && b <= 0x9F && cp1252_c1[b - 0x80] != 0)
        return cp1252_c1[b - 0x80];
    return b;
}

/* Encodings read here rather than by iconv. */
#define ENC_UTF8 "UTF-8"
#define ENC_1252 "WINDOWS-1252"
#define ENC_USER "x-user-defined"
#define ENC_REPLACEMENT "replacement"

/*
 * The labels of the Encoding standard and what they name, as glibc's iconv
 * names it. ISO-8859-1 and US-ASCII are windows-1252, as browsers read
 * them; the "replacement" encoding (ISO-2022-KR and the like) decodes to a
 * single U+FFFD, so that no link is read in a way its author did not mean.
 */
static const struct {
    const char *label;
    const char *name;
} enc_labels[] = {
    {"unicode-1-1-utf-8", ENC_UTF8},
    {"unicode11utf8", ENC_UTF8},
    {"unicode20utf8", ENC_UTF8},
    {"utf-8", ENC_UTF8},
    {"utf8", ENC_UTF8},
    {"x-unicode20utf8", ENC_UTF8},
    {"866", "IBM866"},
    {"cp866", "IBM866"},
    {"csibm866", "IBM866"},
    {"ibm866", "IBM866"},
    {"csisolatin2", "ISO-8859-2"},
    {"iso-8859-2", "ISO-8859-2"},
    {"iso-ir-101", "ISO-8859-2"},
    {"iso8859-2", "ISO-8859-2"},
    {"iso88592", "ISO-8859-2"},
    {"iso_8859-2", "ISO-8859-2"},
    {"iso_8859-2:1987", "ISO-8859-2"},
    {"l2", "ISO-8859-2"},
    {"latin2", "ISO-8859-2"},
    {"csisolatin3", "ISO-8859-3"},
    {"iso-8859-3", "ISO-8859-3"},
    {"iso-ir-109", "ISO-8859-3"},
    {"iso8859-3", "ISO-8859-3"},
    {"iso88593", "ISO-8859-3"},
    {"iso_8859-3", "ISO-8859-3"},
    {"iso_8859-3:1988", "ISO-8859-3"},
    {"l3", "ISO-8859-3"},
    {"latin3", "ISO-8859-3"},
    {"csisolatin4", "ISO-8859-4"},
    {"iso-8859-4", "ISO-8859-4"},
    {"iso-ir-110", "ISO-8859-4"},
    {"iso8859-4", "ISO-8859-4"},
    {"iso88594", "ISO-8859-4"},
    {"iso_8859-4", "ISO-8859-4"},
    {"iso_8859-4:1988", "ISO-8859-4"},
    {"l4", "ISO-8859-4"},
    {"latin4", "ISO-8859-4"},
    {"csisolatincyrillic", "ISO-8859-5"},
    {"cyrillic", "ISO-8859-5"},
    {"iso-8859-5", "ISO-8859-5"},
    {"iso-ir-144", "ISO-8859-5"},
    {"iso8859-5", "ISO-8859-5"},
    {"iso88595", "ISO-8859-5"},
    {"iso_8859-5", "ISO-8859-5"},
    {"iso_8859-5:1988", "ISO-8859-5"},
    {"arabic", "ISO-8859-6"},
    {"asmo-708", "ISO-8859-6"},
    {"csiso88596e", "ISO-8859-6"},
    {"csiso88596i", "ISO-8859-6"},
    {"csisolatinarabic", "ISO-8859-6"},
    {"ecma-114", "ISO-8859-6"},
    {"iso-8859-6", "ISO-8859-6"},
    {"iso-8859-6-e", "ISO-8859-6"},
    {"iso-8859-6-i", "ISO-8859-6"},
    {"iso-ir-127", "ISO-8859-6"},
    {"iso8859-6", "ISO-8859-6"},
    {"iso88596", "ISO-8859-6"},
    {"iso_8859-6", "ISO-8859-6"},
    {"iso_8859-6:1987", "ISO-8859-6"},
    {"csisolatingreek", "ISO-8859-7"},
    {"ecma-118", "ISO-8859-7"},
    {"elot_928", "ISO-8859-7"},
    {"greek", "ISO-8859-7"},
    {"greek8", "ISO-8859-7"},
    {"iso-8859-7", "ISO-8859-7"},
    {"iso-ir-126", "ISO-8859-7"},
    {"iso8859-7", "ISO-8859-7"},
    {"iso88597", "ISO-8859-7"},
    {"iso_8859-7", "ISO-8859-7"},
    {"iso_8859-7:1987", "ISO-8859-7"},
    {"sun_eu_greek", "ISO-8859-7"},
    {"csiso88598e", "ISO-8859-8"},
    {"csisolatinhebrew", "ISO-8859-8"},
    {"hebrew", "ISO-8859-8"},
    {"iso-8859-8", "ISO-8859-8"},
    {"iso-8859-8-e", "ISO-8859-8"},
    {"iso-ir-138", "ISO-8859-8"},
    {"iso8859-8", "ISO-8859-8"},
    {"iso88598", "ISO-8859-8"},
    {"iso_8859-8", "ISO-8859-8"},
    {"iso_8859-8:1988", "ISO-8859-8"},
    {"visual", "ISO-8859-8"},
    {"csiso88598i", "ISO-8859-8"},
    {"iso-8859-8-i", "ISO-8859-8"},
    {"logical", "ISO-8859-8"},
    {"csisolatin6", "ISO-8859-10"},
    {"iso-8859-10", "ISO-8859-10"},
    {"iso-ir-157", "ISO-8859-10"},
    {"iso8859-10", "ISO-8859-10"},
    {"iso885910", "ISO-8859-10"},
    {"l6", "ISO-8859-10"},
    {"latin6", "ISO-8859-10"},
    {"iso-8859-13", "ISO-8859-13"},
    {"iso8859-13", "ISO-8859-13"},
    {"iso885913", "ISO-8859-13"},
    {"iso-8859-14", "ISO-8859-14"},
    {"iso8859-14", "ISO-8859-14"},
    {"iso885914", "ISO-8859-14"},
    {"csisolatin9", "ISO-8859-15"},
    {"iso-8859-15", "ISO-8859-15"},
    {"iso8859-15", "ISO-8859-15"},
    {"iso885915", "ISO-8859-15"},
    {"iso_8859-15", "ISO-8859-15"},
    {"l9", "ISO-8859-15"},
    {"iso-8859-16", "ISO-8859-16"},
    {"cskoi8r", "KOI8-R"},
    {"koi", "KOI8-R"},
    {"koi8", "KOI8-R"},
    {"koi8-r", "KOI8-R"},
    {"koi8_r", "KOI8-R"},
    {"koi8-ru", "KOI8-RU"},
    {"koi8-u", "KOI8-RU"},
    {"csmacintosh", "MACINTOSH"},
    {"mac", "MACINTOSH"},
    {"macintosh", "MACINTOSH"},
    {"x-mac-roman", "MACINTOSH"},
    {"dos-874", "CP874"},
    {"iso-8859-11", "CP874"},
    {"iso8859-11", "CP874"},
    {"iso885911", "CP874"},
    {"tis-620", "CP874"},
    {"windows-874", "CP874"},
    {"cp1250", "CP1250"},
    {"windows-1250", "CP1250"},
    {"x-cp1250", "CP1250"},
    {"cp1251", "CP1251"},
    {"windows-1251", "CP1251"},
    {"x-cp1251", "CP1251"},
    {"ansi_x3.4-1968", ENC_1252},
    {"ascii", ENC_1252},
    {"cp1252", ENC_1252},
    {"cp819", ENC_1252},
    {"csisolatin1", ENC_1252},
    {"ibm819", ENC_1252},
    {"iso-8859-1", ENC_1252},
    {"iso-ir-100", ENC_1252},
    {"iso8859-1", ENC_1252},
    {"iso88591", ENC_1252},
    {"iso_8859-1", ENC_1252},
    {"iso_8859-1:1987", ENC_1252},
    {"l1", ENC_1252},
    {"latin1", ENC_1252},
    {"us-ascii", ENC_1252},
    {"windows-1252", ENC_1252},
    {"x-cp1252", ENC_1252},
    {"cp1253", "CP1253"},
    {"windows-1253", "CP1253"},
    {"x-cp1253", "CP1253"},
    {"cp1254", "CP1254"},
    {"csisolatin5", "CP1254"},
    {"iso-8859-9", "CP1254"},
    {"iso-ir-148", "CP1254"},
    {"iso8859-9", "CP1254"},
    {"iso88599", "CP1254"},
    {"iso_8859-9", "CP1254"},
    {"iso_8859-9:1989", "CP1254"},
    {"l5", "CP1254"},
    {"latin5", "CP1254"},
    {"windows-1254", "CP1254"},
    {"x-cp1254", "CP1254"},
    {"cp1255", "CP1255"},
    {"windows-1255", "CP1255"},
    {"x-cp1255", "CP1255"},
    {"cp1256", "CP1256"},
    {"windows-1256", "CP1256"},
    {"x-cp1256", "CP1256"},
    {"cp1257", "CP1257"},
    {"windows-1257", "CP1257"},
    {"x-cp1257", "CP1257"},
    {"cp1258", "CP1258"},
    {"windows-1258", "CP1258"},
    {"x-cp1258", "CP1258"},
    {"x-mac-cyrillic", "MAC-CYRILLIC"},
    {"x-mac-ukrainian", "MAC-CYRILLIC"},
    {"chinese", "GB18030"},
    {"csgb2312", "GB18030"},
    {"csiso58gb231280", "GB18030"},
    {"gb2312", "GB18030"},
    {"gb_2312", "GB18030"},
    {"gb_2312-80", "GB18030"},
    {"gbk", "GB18030"},
    {"iso-ir-58", "GB18030"},
    {"x-gbk", "GB18030"},
    {"gb18030", "GB18030"},
    {"big5", "BIG5-HKSCS"},
    {"big5-hkscs", "BIG5-HKSCS"},
    {"cn-big5", "BIG5-HKSCS"},
    {"csbig5", "BIG5-HKSCS"},
    {"x-x-big5", "BIG5-HKSCS"},
    {"cseucpkdfmtjapanese", "EUC-JP"},
    {"euc-jp", "EUC-JP"},
    {"x-euc-jp", "EUC-JP"},
    {"csiso2022jp", "ISO-2022-JP"},
    {"iso-2022-jp", "ISO-2022-JP"},
    {"csshiftjis", "CP932"},
    {"ms932", "CP932"},
    {"ms_kanji", "CP932"},
    {"shift-jis", "CP932"},
    {"shift_jis", "CP932"},
    {"sjis", "CP932"},
    {"windows-31j", "CP932"},
    {"x-sjis", "CP932"},
    {"cseuckr", "CP949"},
    {"csksc56011987", "CP949"},
    {"euc-kr", "CP949"},
    {"iso-ir-149", "CP949"},
    {"korean", "CP949"},
    {"ks_c_5601-1987", "CP949"},
    {"ks_c_5601-1989", "CP949"},
    {"ksc5601", "CP949"},
    {"ksc_5601", "CP949"},
    {"windows-949", "CP949"},
    {"csiso2022kr", ENC_REPLACEMENT},
    {"hz-gb-2312", ENC_REPLACEMENT},
    {"iso-2022-cn", ENC_REPLACEMENT},
    {"iso-2022-cn-ext", ENC_REPLACEMENT},
    {"iso-2022-kr", ENC_REPLACEMENT},
    {"unicodefffe", "UTF-16BE"},
    {"utf-16be", "UTF-16BE"},
    {"csunicode", "UTF-16LE"},
    {"iso-10646-ucs-2", "UTF-16LE"},
    {"ucs-2", "UTF-16LE"},
    {"unicode", "UTF-16LE"},
    {"unicodefeff", "UTF-16LE"},
    {"utf-16", "UTF-16LE"},
    {"utf-16le", "UTF-16LE"},
    {"x-user-defined", ENC_USER},
};

/* The encoding the label at P (N bytes) names, ignoring ASCII case and the
 * white space around it, or NULL when it names none. */
static const char *
encoding_of(const char *p, size_t n)
{
    char label[24];
    size_t i;

    while (n > 0 && is_space((unsigned char)p[0])) {
        p++;
        n--;
    }
    while (n > 0 && is_space((unsigned char)p[n - 1]))
        n--;
    if (n == 0 || n >= sizeof(label))
        return NULL;
    for (i = 0; i < n; i++)
        label[i] = (char)lower((unsigned char)p[i]);
    label[n] = '\0';
    if (memchr(label, '\0', n) != NULL)
        return NULL;
    for (i = 0; i < sizeof(enc_labels) / sizeof(enc_labels[0]); i++)
        if (strcmp(enc_labels[i].label, label) == 0)
            return enc_labels[i].name;
    return NULL;
}

/*
 * The encoding named by "charset=" in P (N bytes), a <meta>'s content or a
 * Content-Type, read as the HTML standard extracts a character encoding
 * from a meta element; NULL when there is none or it names none.
 */
static const char *
charset_param(const char *p, size_t n)
{
    size_t i = 0;
    size_t v0;

    for (;;) {
        for (; i + 7 <= n; i++)
            if (strncasecmp(p + i, "charset", 7) == 0)
                break;
        if (i + 7 > n)
            return NULL;
        i += 7;
        while (i < n && is_space((unsigned char)p[i]))
            i++;
        if (i < n && p[i] == '=')
            break;
    }
    i++;
    while (i < n && is_space((unsigned char)p[i]))
        i++;
    if (i >= n)
        return NULL;
    if (p[i] == '"' || p[i] == '\'') {
        const char *q = memchr(p + i + 1, p[i], n - i - 1);

        return q == NULL ? NULL
                         : encoding_of(p + i + 1, (size_t)(q - p) - i - 1);
    }
    for (v0 = i; i < n && !is_space((unsigned char)p[i]) && p[i] != ';'; i++)
        ;
    return encoding_of(p + v0, i - v0);
}

/* What an encoding declared in the document itself is taken for: a page
 * that says UTF-16 cannot be, since it was read as ASCII. */
static const char *
declared(const char *enc)
{
    if (enc == NULL)
        return NULL;
    if (strcmp(enc, "UTF-16BE") == 0 || strcmp(enc, "UTF-16LE") == 0)
        return ENC_UTF8;
    return enc;
}

/* Appends to OUT the N bytes at P in an encoding that maps a byte to a
 * code point: windows-1252, or x-user-defined when USER. */
static int
from_bytes(const char *p, size_t n, bool user, struct tf_buf *out)
{
    size_t run = 0;
    size_t i;
    int rc;

    rc = tf_buf_reserve(out, n + n / 4);
    for (i = 0; rc == 0 && i < n; i++) {
        unsigned long b = (unsigned char)p[i];

        if (b < 0x80)
            continue;
        rc = tf_buf_append(out, p + run, i - run);
        if (rc == 0)
            rc = lc__put_utf8(out, user ? 0xF780 + b - 0x80 : cp1252(b));
        run = i + 1;
    }
    if (rc == 0)
        rc = tf_buf_append(out, p + run, n - run);
    return rc;
}

/* Appends to OUT the N bytes at P, UTF-8 with errors, each bad sequence a
 * U+FFFD; CUT: a sequence torn at the end is left out. */
static int
from_utf8(const char *p, size_t n, bool cut, struct tf_buf *out)
{
    size_t i = 0;
    int rc = 0;

    while (rc == 0 && i < n) {
        size_t v = utf8_valid(p + i, n - i);
        size_t part;
        bool torn;

        rc = tf_buf_append(out, p + i, v);
        i += v;
        if (rc < 0 || i >= n)
            break;
        utf8_len((const unsigned char *)p + i, n - i, &part, &torn);
        if (!(torn && cut))
            rc = lc__put_utf8(out, 0xFFFD);
        i += part;
    }
    return rc;
}

/* Appends to OUT the N bytes at P in encoding ENC, converted by iconv;
 * what it cannot convert is a U+FFFD. Returns 1 when iconv does not know
 * ENC. */
static int
from_iconv(const char *enc, const char *p, size_t n, bool cut,
           struct tf_buf *out)
{
    iconv_t cd = iconv_open("UTF-8", enc);
    char *in = (char *)p;
    size_t left = n;
    bool flush = false;
    int rc;

    if (cd == (iconv_t)-1)
        return 1;
    rc = tf_buf_reserve(out, n + n / 2 + 16);
    while (rc == 0) {
        char *o = (char *)out->data + out->len;
        size_t room = out->cap - out->len - 1;
        size_t r = flush ? iconv(cd, NULL, NULL, &o, &room)
                         : iconv(cd, &in, &left, &o, &room);
        int e = errno;

        out->len = (size_t)((unsigned char *)o - out->data);
        out->data[out->len] = '\0';
        if (r != (size_t)-1) {
            /* All read; one more call ends a shift state. */
            if (flush)
                break;
            flush = true;
        } else if (e == E2BIG) {
            rc = tf_buf_reserve(out, left + left / 2 + 16);
        } else if (e == EILSEQ && !flush) {
            rc = lc__put_utf8(out, 0xFFFD);
            if (rc == 0)
                rc = tf_buf_reserve(out, left + 16);
            in++;
            left--;
        } else {
            /* A sequence torn at the end (EINVAL). */
            if (!cut)
                rc = lc__put_utf8(out, 0xFFFD);
            break;
        }
    }
    iconv_close(cd);
    return rc;
}

/*
 * Makes the N bytes at P, in encoding ENC, UTF-8: *TEXT and *LEN are P
 * itself when it is valid UTF-8 already, else what OUT holds. CUT: the
 * bytes stop where --max-body cut the page, so a sequence torn at their
 * end is left out. An encoding iconv cannot read falls back as an unknown
 * label does.
 */
static int
to_utf8(const char *enc, const char *p, size_t n, bool cut, struct tf_buf *out,
        const char **text, size_t *len)
{
    int rc;

    *text = p;
    *len = n;
    if (strcmp(enc, ENC_UTF8) == 0) {
        if (is_utf8(p, n, cut, len))
            return 0;
        rc = from_utf8(p, n, cut, out);
    } else if (strcmp(enc, ENC_1252) == 0 || strcmp(enc, ENC_USER) == 0) {
        rc = from_bytes(p, n, strcmp(enc, ENC_USER) == 0, out);
    } else if (strcmp(enc, ENC_REPLACEMENT) == 0) {
        rc = n > 0 ? lc__put_utf8(out, 0xFFFD) : 0;
    } else {
        rc = from_iconv(enc, p, n, cut, out);
        if (rc == 1)
            return to_utf8(is_utf8(p, n, cut, len) ? ENC_UTF8 : ENC_1252, p, n,
                           cut, out, text, len);
    }
    if (rc < 0)
        return rc;
    *text = out->data != NULL ? (const char *)out->data : "";
    *len = out->len;
    return 0;
}

/* --------------------------------------------------------------- HTML */

/* What a reader found. */
enum found {
    FOUND_LINK,   /* a link */
    FOUND_FORM,   /* a form's action */
    FOUND_BASE,   /* a <base href> */
    FOUND_ANCHOR, /* an id, or the name of an <a> */
};

struct reader;
typedef int (*found_fn)(struct reader *rd, enum found what, const char *p,
                        size_t n);

/* One reading of a page or style sheet. */
struct reader {
    found_fn found;      /* called with each thing found, in page order */
    void *arg;           /* FOUND's */
    bool cut;            /* the text stops where --max-body cut it */
    bool prescan;        /* looking for a <meta> charset alone */
    const char *charset; /* what the prescan found, or NULL */
    struct tf_buf val;   /* an attribute's value, decoded */
    struct tf_buf css;   /* a string or URL of CSS, decoded */
};

static void
reader_init(struct reader *rd, found_fn found, void *arg, bool cut)
{
    memset(rd, 0, sizeof(*rd));
    rd->found = found;
    rd->arg = arg;
    rd->cut = cut;
    tf_buf_init(&rd->val, 0);
    tf_buf_init(&rd->css, 0);
}

static void
reader_cleanup(struct reader *rd)
{
    tf_buf_cleanup(&rd->val);
    tf_buf_cleanup(&rd->css);
}

/* The tags whose attributes or contents matter here. */
enum tag {
    T_OTHER,
    T_A,
    T_AREA,
    T_AUDIO,
    T_BASE,
    T_BLOCKQUOTE,
    T_BODY,
    T_DEL,
    T_EMBED,
    T_FORM,
    T_FRAME,
    T_IFRAME,
    T_IMAGE,
    T_IMG,
    T_INPUT,
    T_INS,
    T_LINK,
    T_META,
    T_NOEMBED,
    T_NOFRAMES,
    T_OBJECT,
    T_PLAINTEXT,
    T_Q,
    T_SCRIPT,
    T_SOURCE,
    T_STYLE,
    T_TEXTAREA,
    T_TITLE,
    T_TRACK,
    T_USE,
    T_VIDEO,
    T_XMP,
    T_COUNT
};

static const char *const tag_names[T_COUNT] = {
    [T_OTHER] = "",
    [T_A] = "a",
    [T_AREA] = "area",
    [T_AUDIO] = "audio",
    [T_BASE] = "base",
    [T_BLOCKQUOTE] = "blockquote",
    [T_BODY] = "body",
    [T_DEL] = "del",
    [T_EMBED] = "embed",
    [T_FORM] = "form",
    [T_FRAME] = "frame",
    [T_IFRAME] = "iframe",
    [T_IMAGE] = "image",
    [T_IMG] = "img",
    [T_INPUT] = "input",
    [T_INS] = "ins",
    [T_LINK] = "link",
    [T_META] = "meta",
    [T_NOEMBED] = "noembed",
    [T_NOFRAMES] = "noframes",
    [T_OBJECT] = "object",
    [T_PLAINTEXT] = "plaintext",
    [T_Q] = "q",
    [T_SCRIPT] = "script",
    [T_SOURCE] = "source",
    [T_STYLE] = "style",
    [T_TEXTAREA] = "textarea",
    [T_TITLE] = "title",
    [T_TRACK] = "track",
    [T_USE] = "use",
    [T_VIDEO] = "video",
    [T_XMP] = "xmp",
};

/* The attributes that matter here. */
enum attr {
    A_ACTION,
    A_BACKGROUND,
    A_CHARSET,
    A_CITE,
    A_CONTENT,
    A_DATA,
    A_HREF,
    A_HTTP_EQUIV,
    A_ID,
    A_LONGDESC,
    A_NAME,
    A_POSTER,
    A_REL,
    A_SRC,
    A_SRCSET,
    A_STYLE,
    A_TYPE,
    A_XLINK_HREF,
    A_COUNT
};

static const char *const attr_names[A_COUNT] = {
    [A_ACTION] = "action",   [A_BACKGROUND] = "background",
    [A_CHARSET] = "charset", [A_CITE] = "cite",
    [A_CONTENT] = "content", [A_DATA] = "data",
    [A_HREF] = "href",       [A_HTTP_EQUIV] = "http-equiv",
    [A_ID] = "id",           [A_LONGDESC] = "longdesc",
    [A_NAME] = "name",       [A_POSTER] = "poster",
    [A_REL] = "rel",         [A_SRC] = "src",
    [A_SRCSET] = "srcset",   [A_STYLE] = "style",
    [A_TYPE] = "type",       [A_XLINK_HREF] = "xlink:href",
};

/* Where the value of one attribute of a tag is. */
struct attr_at {
    size_t v0;
    size_t vlen;
    unsigned order; /* its place among the tag's attributes */
    bool set;
};

/* What an attribute is to the reader. */
enum use {
    USE_NONE,
    USE_URL,     /* a link */
    USE_SRCSET,  /* links with descriptors */
    USE_FORM,    /* a form's action */
    USE_BASE,    /* <base href> */
    USE_REFRESH, /* a <meta http-equiv=refresh>'s content */
    USE_ANCHOR,  /* an id or an <a>'s name */
    USE_STYLE,   /* CSS */
};

/* The index in NAMES (COUNT lower-case names) of the N bytes at P, ignoring
 * ASCII case, or -1. */
static int
name_index(const char *p, size_t n, const char *const *names, int count)
{
    char low[16];
    size_t i;
    int k;

    if (n == 0 || n >= sizeof(low))
        return -1;
    for (i = 0; i < n; i++)
        low[i] = (char)lower((unsigned char)p[i]);
    for (k = 0; k < count; k++)
        if (names[k][0] == low[0] && strlen(names[k]) == n &&
            memcmp(names[k], low, n) == 0)
            return k;
    return -1;
}

/* Whether attribute A of a tag in P is WORD, ignoring ASCII case. */
static bool
value_is(const char *p, const struct attr_at *a, const char *word)
{
    return a->set && strlen(word) == a->vlen &&
           strncasecmp(p + a->v0, word, a->vlen) == 0;
}

/* Whether the rel of a <link> (A) names an origin to connect to early
 * rather than a resource: its href is no document ("https://host"), and
 * fetching it would report a working site as dead. */
static bool
rel_is_origin(const char *p, const struct attr_at *a)
{
    size_t i = a->v0;
    size_t end = a->v0 + a->vlen;

    if (!a->set)
        return false;
    while (i < end) {
        size_t t0;

        while (i < end && is_space((unsigned char)p[i]))
            i++;
        for (t0 = i; i < end && !is_space((unsigned char)p[i]); i++)
            ;
        if ((i - t0 == 10 && strncasecmp(p + t0, "preconnect", 10) == 0) ||
            (i - t0 == 12 && strncasecmp(p + t0, "dns-prefetch", 12) == 0))
            return true;
    }
    return false;
}

/* What attribute A of tag TAG is, given the tag's other attributes AT in
 * P. */
static enum use
attr_use(const char *p, enum tag tag, enum attr a, const struct attr_at *at)
{
    switch (a) {
    case A_ID:
        return USE_ANCHOR;
    case A_NAME:
        return tag == T_A ? USE_ANCHOR : USE_NONE;
    case A_STYLE:
        return USE_STYLE;
    case A_HREF:
        if (tag == T_A || tag == T_AREA || tag == T_IMAGE || tag == T_USE)
            return USE_URL;
        if (tag == T_LINK)
            return rel_is_origin(p, &at[A_REL]) ? USE_NONE : USE_URL;
        return tag == T_BASE ? USE_BASE : USE_NONE;
    case A_XLINK_HREF:
        /* SVG's older form; href wins when a tag has both. */
        return (tag == T_A || tag == T_IMAGE || tag == T_USE) && !at[A_HREF].set
                   ? USE_URL
                   : USE_NONE;
    case A_SRC:
        switch (tag) {
        case T_IMG:
        case T_SCRIPT:
        case T_IFRAME:
        case T_FRAME:
        case T_EMBED:
        case T_AUDIO:
        case T_VIDEO:
        case T_SOURCE:
        case T_TRACK:
            return USE_URL;
        case T_INPUT:
            return value_is(p, &at[A_TYPE], "image") ? USE_URL : USE_NONE;
        default:
            return USE_NONE;
        }
    case A_SRCSET:
        return tag == T_IMG || tag == T_SOURCE ? USE_SRCSET : USE_NONE;
    case A_DATA:
        return tag == T_OBJECT ? USE_URL : USE_NONE;
    case A_POSTER:
        return tag == T_VIDEO ? USE_URL : USE_NONE;
    case A_CITE:
        return tag == T_BLOCKQUOTE || tag == T_Q || tag == T_DEL || tag == T_INS
                   ? USE_URL
                   : USE_NONE;
    case A_LONGDESC:
        return tag == T_IMG || tag == T_FRAME || tag == T_IFRAME ? USE_URL
                                                                 : USE_NONE;
    case A_BACKGROUND:
        return tag == T_BODY ? USE_URL : USE_NONE;
    case A_ACTION:
        return tag == T_FORM ? USE_FORM : USE_NONE;
    case A_CONTENT:
        return tag == T_META && value_is(p, &at[A_HTTP_EQUIV], "refresh")
                   ? USE_REFRESH
                   : USE_NONE;
    default:
        return USE_NONE;
    }
}

/* The named reference of the N bytes at P (the name without ';'), or
 * NULL. */
static const struct lc_entity *
entity_find(const char *p, size_t n)
{
    size_t lo = 0;
    size_t hi = sizeof(lc_entities) / sizeof(lc_entities[0]);

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *name = lc_entities[mid].name;
        int c = strncmp(name, p, n);

        if (c == 0 && name[n] != '\0')
            c = 1;
        if (c == 0)
            return &lc_entities[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static bool
is_alnum(int c)
{
    return is_alpha(c) || is_digit(c);
}

/*
 * Decodes the character reference at P (P[0] == '&', N bytes) of an
 * attribute value into OUT as the HTML standard does there, and returns
 * how many bytes it took, or 0 when it is none (the '&' is then text):
 * &#N; and &#xH;, whose ';' may be missing, with the standard's
 * replacements (windows-1252 for 0x80 to 0x9F, U+FFFD for 0 and what is no
 * character), and every named reference of the standard; a name of HTML 4
 * may go without its ';' unless a letter, a digit or '=' follows, which
 * keeps "?a=1&copy=2" as it is.
 */
static size_t
char_ref(const char *p, size_t n, struct tf_buf *out, int *rc)
{
    const struct lc_entity *e;
    size_t j = 1;
    size_t k;

    if (n > 1 && p[1] == '#') {
        bool hex = n > 2 && (p[2] == 'x' || p[2] == 'X');
        unsigned long cp = 0;
        size_t d0 = hex ? 3 : 2;

        for (j = d0; j < n; j++) {
            int v = hex ? hexval((unsigned char)p[j])
                        : (is_digit((unsigned char)p[j]) ? p[j] - '0' : -1);

            if (v < 0)
                break;
            cp = cp * (hex ? 16 : 10) + (unsigned long)v;
            if (cp > 0x10FFFF)
                cp = 0x110000; /* no character; no overflow */
        }
        if (j == d0)
            return 0;
        if (j < n && p[j] == ';')
            j++;
        *rc = lc__put_utf8(out, cp1252(cp));
        return j;
    }
    while (j < n && j <= LC_ENTITY_MAX + 1 && is_alnum((unsigned char)p[j]))
        j++;
    if (j == 1)
        return 0;
    if (j < n && p[j] == ';' && j - 1 <= LC_ENTITY_MAX) {
        e = entity_find(p + 1, j - 1);
        if (e != NULL) {
            *rc = tf_buf_puts(out, e->text);
            return j + 1;
        }
    }
    for (k = j - 1 < LC_ENTITY_LEGACY_MAX ? j - 1 : LC_ENTITY_LEGACY_MAX;
         k >= 2; k--) {
        e = entity_find(p + 1, k);
        if (e == NULL || !e->legacy)
            continue;
        if (k + 1 < n && (is_alnum((unsigned char)p[k + 1]) || p[k + 1] == '='))
            return 0;
        *rc = tf_buf_puts(out, e->text);
        return k + 1;
    }
    return 0;
}

/* Sets OUT to the N bytes of attribute value P, its character references
 * decoded and each NUL a U+FFFD, as the HTML standard reads a value. */
static int
decode_value(const char *p, size_t n, struct tf_buf *out)
{
    size_t run = 0;
    size_t i = 0;
    int rc = 0;

    tf_buf_reset(out);
    while (rc == 0 && i < n) {
        size_t used = 0;

        if (p[i] != '&' && p[i] != '\0') {
            i++;
            continue;
        }
        rc = tf_buf_append(out, p + run, i - run);
        if (rc == 0 && p[i] == '\0') {
            rc = lc__put_utf8(out, 0xFFFD);
            used = 1;
        } else if (rc == 0) {
            used = char_ref(p + i, n - i, out, &rc);
        }
        if (rc == 0 && used == 0) {
            rc = tf_buf_append(out, "&", 1);
            used = 1;
        }
        i += used;
        run = i;
    }
    if (rc == 0)
        rc = tf_buf_append(out, p + run, n - run);
    return rc;
}

/*
 * Reports the URLs of srcset value P (N bytes), as the HTML standard parses
 * it: candidates separated by commas, each a URL (which may hold commas,
 * but ends at white space or with its trailing commas) and descriptors up
 * to the next comma outside parentheses.
 */
static int
read_srcset(struct reader *rd, const char *p, size_t n)
{
    size_t i = 0;
    int rc = 0;

    while (rc == 0) {
        size_t u0;
        size_t ulen;

        while (i < n && (is_space((unsigned char)p[i]) || p[i] == ','))
            i++;
        if (i >= n)
            break;
        for (u0 = i; i < n && !is_space((unsigned char)p[i]); i++)
            ;
        ulen = i - u0;
        if (p[i - 1] == ',') {
            while (ulen > 0 && p[u0 + ulen - 1] == ',')
                ulen--;
        } else {
            bool paren = false;

            for (; i < n; i++) {
                if (p[i] == '(')
                    paren = true;
                else if (p[i] == ')')
                    paren = false;
                else if (p[i] == ',' && !paren)
                    break;
            }
        }
        rc = rd->found(rd, FOUND_LINK, p + u0, ulen);
    }
    return rc;
}

static size_t
skip_space(const char *p, size_t n, size_t i)
{
    while (i < n && is_space((unsigned char)p[i]))
        i++;
    return i;
}

/*
 * Reports the URL of a <meta http-equiv=refresh>'s content P (N bytes),
 * read as the HTML standard's shared declarative refresh steps read it:
 * "5; url=page.html", "5;page.html", "0; URL='page.html'". A content of
 * the time alone refreshes the page itself and has none.
 */
static int
read_refresh(struct reader *rd, const char *p, size_t n)
{
    size_t i = skip_space(p, n, 0);
    size_t t0 = i;
    size_t u0;
    size_t end = n;
    bool quotes = true;

    while (i < n && is_digit((unsigned char)p[i]))
        i++;
    if (i == t0 && !(i < n && p[i] == '.'))
        return 0;
    while (i < n && (is_digit((unsigned char)p[i]) || p[i] == '.'))
        i++;
    if (i >= n)
        return 0;
    if (!is_space((unsigned char)p[i]) && p[i] != ';' && p[i] != ',')
        return 0;
    i = skip_space(p, n, i);
    if (i < n && (p[i] == ';' || p[i] == ','))
        i = skip_space(p, n, i + 1);
    if (i >= n)
        return 0;
    u0 = i;
    if (lower((unsigned char)p[i]) == 'u') {
        /* "url" and '=': else the URL is what follows the time, from its
         * 'u' on. */
        quotes = false;
        if (i + 2 < n && lower((unsigned char)p[i + 1]) == 'r' &&
            lower((unsigned char)p[i + 2]) == 'l') {
            i = skip_space(p, n, i + 3);
            if (i < n && p[i] == '=') {
                i = skip_space(p, n, i + 1);
                quotes = true;
            }
        }
        if (!quotes)
            i = u0;
    }
    if (quotes && i < n && (p[i] == '"' || p[i] == '\'')) {
        const char *q = memchr(p + i + 1, p[i], n - i - 1);

        i++;
        if (q != NULL)
            end = (size_t)(q - p);
    }
    if (quotes)
        u0 = i;
    return rd->found(rd, FOUND_LINK, p + u0, end - u0);
}

static int read_css(struct reader *rd, const char *p, size_t n, bool cut);

/* The prescan: a <meta> that names the page's encoding (charset, or
 * http-equiv=content-type with a charset in its content). */
static void
meta_charset(struct reader *rd, const char *p, const struct attr_at *at)
{
    const char *enc = NULL;

    if (at[A_CHARSET].set)
        enc = encoding_of(p + at[A_CHARSET].v0, at[A_CHARSET].vlen);
    else if (at[A_CONTENT].set &&
             value_is(p, &at[A_HTTP_EQUIV], "content-type"))
        enc = charset_param(p + at[A_CONTENT].v0, at[A_CONTENT].vlen);
    enc = declared(enc);
    if (enc != NULL && strcmp(enc, ENC_USER) == 0)
        enc = ENC_1252;
    rd->charset = enc;
}

/* Reports what the attributes AT of start tag TAG in P hold, in the order
 * they come in the tag. */
static int
commit_tag(struct reader *rd, const char *p, enum tag tag,
           const struct attr_at *at)
{
    enum attr order[A_COUNT];
    enum use uses[A_COUNT];
    size_t n = 0;
    size_t i;
    int a;
    int rc = 0;

    if (rd->prescan) {
        if (tag == T_META)
            meta_charset(rd, p, at);
        return 0;
    }
    for (a = 0; a < A_COUNT; a++) {
        enum use u = at[a].set ? attr_use(p, tag, (enum attr)a, at) : USE_NONE;

        if (u == USE_NONE)
            continue;
        for (i = n; i > 0 && at[order[i - 1]].order > at[a].order; i--) {
            order[i] = order[i - 1];
            uses[i] = uses[i - 1];
        }
        order[i] = (enum attr)a;
        uses[i] = u;
        n++;
    }
    for (i = 0; rc == 0 && i < n; i++) {
        const struct attr_at *v = &at[order[i]];
        const char *d;

        rc = decode_value(p + v->v0, v->vlen, &rd->val);
        if (rc < 0)
            break;
        d = rd->val.data != NULL ? (const char *)rd->val.data : "";
        switch (uses[i]) {
        case USE_URL:
            rc = rd->found(rd, FOUND_LINK, d, rd->val.len);
            break;
        case USE_FORM:
            rc = rd->found(rd, FOUND_FORM, d, rd->val.len);
            break;
        case USE_BASE:
            rc = rd->found(rd, FOUND_BASE, d, rd->val.len);
            break;
        case USE_ANCHOR:
            if (rd->val.len > 0)
                rc = rd->found(rd, FOUND_ANCHOR, d, rd->val.len);
            break;
        case USE_SRCSET:
            rc = read_srcset(rd, d, rd->val.len);
            break;
        case USE_REFRESH:
            rc = read_refresh(rd, d, rd->val.len);
            break;
        case USE_STYLE:
            rc = read_css(rd, d, rd->val.len, false);
            break;
        default:
            break;
        }
    }
    return rc;
}

/* The offset of the "</NAME" that ends the text of a raw text or RCDATA
 * element (script, style, title...) from I, ignoring case, or N. */
static size_t
raw_text_end(const char *p, size_t n, size_t i, const char *name)
{
    size_t len = strlen(name);

    while (i + 2 + len <= n) {
        const char *lt = memchr(p + i, '<', n - i);

        if (lt == NULL)
            break;
        i = (size_t)(lt - p);
        if (i + 2 + len > n)
            break;
        if (p[i + 1] == '/' && strncasecmp(p + i + 2, name, len) == 0 &&
            (i + 2 + len == n || is_space((unsigned char)p[i + 2 + len]) ||
             p[i + 2 + len] == '>' || p[i + 2 + len] == '/'))
            return i;
        i++;
    }
    return n;
}

/* The offset after the comment whose text starts at I: after its "-->" or
 * "--!>", or N. "<!-->" and "<!--->" are empty comments. */
static size_t
comment_end(const char *p, size_t n, size_t i)
{
    if (i < n && p[i] == '>')
        return i + 1;
    if (i + 1 < n && p[i] == '-' && p[i + 1] == '>')
        return i + 2;
    while (i + 2 < n) {
        const char *d = memchr(p + i, '-', n - i - 2);

        if (d == NULL)
            break;
        i = (size_t)(d - p);
        if (p[i + 1] == '-' && p[i + 2] == '>')
            return i + 3;
        if (p[i + 1] == '-' && p[i + 2] == '!' && i + 3 < n && p[i + 3] == '>')
            return i + 4;
        i++;
    }
    return n;
}

/*
 * Reads the HTML P (N bytes) and reports what it finds to RD: reads any
 * bytes, however malformed or cut short, as browsers do. Comments and the
 * text of script, style, title, textarea and the other raw text elements
 * hold no tags; names are case-insensitive; values are quoted with " or '
 * or not at all; the first of two attributes of one name counts; a tag
 * without its '>' is dropped. The contents of <style> are CSS.
 */
static int
read_html(struct reader *rd, const char *p, size_t n)
{
    struct attr_at at[A_COUNT];
    size_t i = 0;
    int rc = 0;

    while (rc == 0 && i < n && rd->charset == NULL) {
        const char *lt = memchr(p + i, '<', n - i);
        enum tag tag = T_OTHER;
        bool end_tag;
        bool closed = false;
        unsigned order = 0;
        size_t t0;
        size_t e;
        int k;

        if (lt == NULL)
            break;
        i = (size_t)(lt - p) + 1;
        if (i >= n)
            break;
        if (p[i] == '!' && i + 2 < n && p[i + 1] == '-' && p[i + 2] == '-') {
            i = comment_end(p, n, i + 3);
            continue;
        }
        if (p[i] == '!' || p[i] == '?' ||
            (p[i] == '/' && i + 1 < n && !is_alpha((unsigned char)p[i + 1]))) {
            /* A doctype, a processing instruction, "</>" or another bogus
             * comment: up to the next '>'. */
            lt = memchr(p + i, '>', n - i);
            i = lt != NULL ? (size_t)(lt - p) + 1 : n;
            continue;
        }
        end_tag = p[i] == '/';
        if (end_tag)
            i++;
        if (i >= n || !is_alpha((unsigned char)p[i]))
            continue; /* a '<' in text */
        t0 = i;
        while (i < n && !is_space((unsigned char)p[i]) && p[i] != '>' &&
               p[i] != '/')
            i++;
        if (!end_tag) {
            k = name_index(p + t0, i - t0, tag_names, T_COUNT);
            tag = k > 0 ? (enum tag)k : T_OTHER;
        }
        for (k = 0; k < A_COUNT; k++)
            at[k].set = false;
        while (i < n) {
            size_t a0;
            size_t v0 = 0;
            size_t vlen = 0;

            while (i < n && (is_space((unsigned char)p[i]) || p[i] == '/'))
                i++;
            if (i >= n)
                break;
            if (p[i] == '>') {
                i++;
                closed = true;
                break;
            }
            a0 = i++; /* a name has one character at least, even '=' */
            while (i < n && !is_space((unsigned char)p[i]) && p[i] != '/' &&
                   p[i] != '>' && p[i] != '=')
                i++;
            k = end_tag ? -1 : name_index(p + a0, i - a0, attr_names, A_COUNT);
            i = skip_space(p, n, i);
            if (i < n && p[i] == '=') {
                i = skip_space(p, n, i + 1);
                if (i < n && (p[i] == '"' || p[i] == '\'')) {
                    const char *q = memchr(p + i + 1, p[i], n - i - 1);

                    v0 = i + 1;
                    i = q != NULL ? (size_t)(q - p) : n;
                    vlen = i - v0;
                    if (i < n)
                        i++;
                } else {
                    v0 = i;
                    while (i < n && !is_space((unsigned char)p[i]) &&
                           p[i] != '>')
                        i++;
                    vlen = i - v0;
                }
            }
            /* An attribute without a value has the empty one. */
            if (k >= 0 && !at[k].set) {
                at[k].v0 = v0;
                at[k].vlen = vlen;
                at[k].order = order;
                at[k].set = true;
            }
            order++;
        }
        if (!closed)
            break; /* a tag cut short: no tag */
        if (end_tag)
            continue;
        rc = commit_tag(rd, p, tag, at);
        if (rc < 0)
            break;
        switch (tag) {
        case T_PLAINTEXT:
            i = n;
            break;
        case T_SCRIPT:
        case T_STYLE:
        case T_TEXTAREA:
        case T_TITLE:
        case T_XMP:
        case T_IFRAME:
        case T_NOEMBED:
        case T_NOFRAMES:
            /* An end tag that the cut leaves without the byte after its
             * name may be none ("</styles"): the text may go on. */
            e = raw_text_end(p, n, i, tag_names[tag]);
            if (tag == T_STYLE && !rd->prescan)
                rc = read_css(rd, p + i, e - i,
                              rd->cut && e + 2 + strlen("style") >= n);
            i = e;
            break;
        default:
            break;
        }
    }
    return rc;
}

/* ---------------------------------------------------------------- CSS */

static bool
css_newline(int c)
{
    return c == '\n' || c == '\r' || c == '\f';
}

/* Whether P[I] starts a valid escape: a '\' not followed by a line
 * break. */
static bool
css_valid_escape(const char *p, size_t n, size_t i)
{
    return i < n && p[i] == '\\' &&
           (i + 1 >= n || !css_newline((unsigned char)p[i + 1]));
}

/* Reads the valid escape at P[*I] and returns its code point (U+FFFD for
 * none); *I moves past it. */
static unsigned long
css_escape(const char *p, size_t n, size_t *i)
{
    const unsigned char *s = (const unsigned char *)p;
    size_t j = *i + 1;
    unsigned long cp = 0;
    size_t part;
    size_t len;
    bool torn;
    int k;

    if (j >= n) {
        *i = j;
        return 0xFFFD;
    }
    if (hexval(s[j]) >= 0) {
        for (k = 0; k < 6 && j < n && hexval(s[j]) >= 0; k++, j++)
            cp = cp * 16 + (unsigned long)hexval(s[j]);
        if (j + 1 < n && s[j] == '\r' && s[j + 1] == '\n')
            j += 2;
        else if (j < n && is_space(s[j]))
            j++;
        *i = j;
        return cp;
    }
    if (s[j] < 0x80) {
        *i = j + 1;
        return s[j];
    }
    len = utf8_len(s + j, n - j, &part, &torn);
    *i = j + (len > 0 ? len : part);
    return len > 0 ? utf8_cp(s + j, len) : 0xFFFD;
}

/* Whether P[I] starts a name (an identifier). */
static bool
css_name_start(const char *p, size_t n, size_t i)
{
    int c = (unsigned char)p[i];

    if (is_alpha(c) || c == '_' || c >= 0x80)
        return true;
    if (c == '\\')
        return css_valid_escape(p, n, i);
    if (c != '-' || i + 1 >= n)
        return false;
    c = (unsigned char)p[i + 1];
    return is_alpha(c) || c == '_' || c == '-' || c >= 0x80 ||
           css_valid_escape(p, n, i + 1);
}

/* Reads the name at P[*I] into NAME (SIZE bytes), lower-cased; a name that
 * is too long or not ASCII gets a byte no name compared here has. */
static void
css_name(const char *p, size_t n, size_t *i, char *name, size_t size)
{
    size_t j = *i;
    size_t k = 0;

    while (j < n) {
        int c = (unsigned char)p[j];
        unsigned long cp;

        if (is_alnum(c) || c == '_' || c == '-' || c >= 0x80) {
            cp = (unsigned long)c;
            j++;
        } else if (css_valid_escape(p, n, j)) {
            cp = css_escape(p, n, &j);
        } else {
            break;
        }
        if (k + 1 < size)
            name[k++] = cp < 0x80 ? (char)lower((int)cp) : '\x80';
        else
            name[0] = '\x80';
    }
    name[k] = '\0';
    *i = j;
}

/*
 * Reads the string at P[*I] (a quote) into OUT, decoded (OUT NULL: skips
 * it); *I moves past it. *END is 1 for a string its quote closes, 0 for
 * one that the end of the bytes ends, -1 for a bad one (a line break in
 * it, which is left unread). Returns 0 or the tf_buf error.
 */
static int
css_string(const char *p, size_t n, size_t *i, struct tf_buf *out, int *end)
{
    char q = p[*i];
    size_t j = *i + 1;
    size_t run = j;
    int rc = 0;

    if (out != NULL)
        tf_buf_reset(out);
    *end = 0;
    while (rc == 0 && j < n) {
        unsigned long cp = 0xFFFD;
        size_t at = j;

        if (p[j] == q) {
            *end = 1;
            break;
        }
        if (css_newline((unsigned char)p[j])) {
            *end = -1;
            break;
        }
        if (p[j] != '\\' && p[j] != '\0') {
            j++;
            continue;
        }
        if (p[j] == '\0') {
            j++;
        } else if (j + 1 >= n) {
            j++; /* a '\' at the end stands for nothing */
            cp = 0;
        } else if (css_newline((unsigned char)p[j + 1])) {
            /* An escaped line break continues the string. */
            j += p[j + 1] == '\r' && j + 2 < n && p[j + 2] == '\n' ? 3 : 2;
            cp = 0;
        } else {
            cp = css_escape(p, n, &j);
        }
        if (out != NULL) {
            rc = tf_buf_append(out, p + run, at - run);
            if (rc == 0 && cp != 0)
                rc = lc__put_utf8(out, cp);
        }
        run = j;
    }
    if (rc == 0 && out != NULL)
        rc = tf_buf_append(out, p + run, j - run);
    *i = *end == 1 ? j + 1 : j;
    return rc;
}

/* Whether C may not be in an unquoted url(). */
static bool
css_nonprintable(int c)
{
    return (c >= 0x01 && c <= 0x08) || c == 0x0B || (c >= 0x0E && c <= 0x1F) ||
           c == 0x7F;
}

/*
 * Reads an unquoted url( from P[*I], after its '(' and blanks, into OUT,
 * decoded; *I moves past it. *END is 1 for a URL its ')' closes, 0 for one
 * the end of the bytes ends, -1 for a bad one (a quote, '(' or control
 * character in it, or blanks inside), which is skipped up to its ')'.
 */
static int
css_url_rest(const char *p, size_t n, size_t *i, struct tf_buf *out, int *end)
{
    size_t j = *i;
    size_t run = j;
    int rc = 0;

    tf_buf_reset(out);
    *end = 0;
    while (rc == 0 && j < n) {
        int c = (unsigned char)p[j];
        size_t at = j;
        unsigned long cp = 0xFFFD;

        if (c == ')') {
            *end = 1;
            break;
        }
        if (is_space(c)) {
            /* Blanks end it: then its ')' or the end of the bytes. */
            j = skip_space(p, n, j);
            *end = j >= n ? 0 : p[j] == ')' ? 1 : -1;
            rc = tf_buf_append(out, p + run, at - run);
            run = j;
            break;
        }
        if (c == '"' || c == '\'' || c == '(' || css_nonprintable(c) ||
            (c == '\\' && !css_valid_escape(p, n, j))) {
            *end = -1;
            break;
        }
        if (c != '\\' && c != '\0') {
            j++;
            continue;
        }
        if (c == '\0')
            j++;
        else
            cp = css_escape(p, n, &j);
        rc = tf_buf_append(out, p + run, at - run);
        if (rc == 0)
            rc = lc__put_utf8(out, cp);
        run = j;
    }
    if (rc == 0 && run < j)
        rc = tf_buf_append(out, p + run, j - run);
    if (*end == -1) {
        /* The rest of a bad URL, up to its ')'. */
        while (j < n && p[j] != ')') {
            if (css_valid_escape(p, n, j))
                css_escape(p, n, &j);
            else
                j++;
        }
    }
    *i = j < n && p[j] == ')' ? j + 1 : j;
    return rc;
}

/* Moves *I past the ')' that closes the function it is in, over nested
 * parentheses, strings and comments. Returns false when the bytes end
 * first. */
static bool
css_close(const char *p, size_t n, size_t *i)
{
    size_t j = *i;
    int depth = 0;
    int end;

    while (j < n) {
        if (p[j] == '/' && j + 1 < n && p[j + 1] == '*') {
            const char *e = memmem(p + j + 2, n - j - 2, "*/", 2);

            j = e != NULL ? (size_t)(e - p) + 2 : n;
        } else if (p[j] == '"' || p[j] == '\'') {
            css_string(p, n, &j, NULL, &end);
        } else if (css_valid_escape(p, n, j)) {
            css_escape(p, n, &j);
        } else if (p[j] == '(') {
            depth++;
            j++;
        } else if (p[j] == ')' && depth-- == 0) {
            *i = j + 1;
            return true;
        } else {
            j++;
        }
    }
    *i = n;
    return false;
}

/*
 * Reads CSS P (N bytes) and reports its links: url(), the string of an
 * @import, and the strings of image-set(). Comments and other strings hold
 * none, nor does @namespace. CUT: the bytes stop where --max-body cut the
 * sheet, so a url() without its ')' or a string without its quote at
 * their end is torn and no link.
 */
static int
read_css(struct reader *rd, const char *p, size_t n, bool cut)
{
    size_t i = 0;
    int depth = 0;       /* open parentheses */
    int set_depth = -1;  /* the depth inside an image-set(), or -1 */
    bool import = false; /* after @import: its string is a link */
    bool ns = false;     /* after @namespace: its url() is none */
    int rc = 0;

    while (rc == 0 && i < n) {
        int c = (unsigned char)p[i];
        char name[24];
        int end;

        if (c == '/' && i + 1 < n && p[i + 1] == '*') {
            const char *e = memmem(p + i + 2, n - i - 2, "*/", 2);

            i = e != NULL ? (size_t)(e - p) + 2 : n;
        } else if (c == '"' || c == '\'') {
            bool wanted = (import && depth == 0) || depth == set_depth;

            rc = css_string(p, n, &i, &rd->css, &end);
            if (rc == 0 && wanted && rd->css.len > 0 &&
                (end == 1 || (end == 0 && !cut)))
                rc = rd->found(rd, FOUND_LINK, (const char *)rd->css.data,
                               rd->css.len);
            import = false;
        } else if (c == '@' && i + 1 < n && css_name_start(p, n, i + 1)) {
            i++;
            css_name(p, n, &i, name, sizeof(name));
            import = strcmp(name, "import") == 0;
            ns = strcmp(name, "namespace") == 0;
        } else if (c == ';' || c == '{' || c == '}') {
            import = ns = false;
            i++;
        } else if (c == '(') {
            depth++;
            i++;
        } else if (c == ')') {
            if (depth > 0)
                depth--;
            if (depth < set_depth)
                set_depth = -1;
            i++;
        } else if (c == '#' || is_digit(c) ||
                   (c == '.' && i + 1 < n &&
                    is_digit((unsigned char)p[i + 1]))) {
            /* A hash, or a number and its unit: no function's name. */
            i++;
            while (i < n && (is_digit((unsigned char)p[i]) || p[i] == '.'))
                i++;
            if (i < n && (css_name_start(p, n, i) ||
                          is_alnum((unsigned char)p[i]) || p[i] == '-'))
                css_name(p, n, &i, name, sizeof(name));
        } else if (css_name_start(p, n, i)) {
            css_name(p, n, &i, name, sizeof(name));
            if (i >= n || p[i] != '(')
                continue;
            i++;
            if (strcmp(name, "url") != 0) {
                depth++;
                if (set_depth < 0 && (strcmp(name, "image-set") == 0 ||
                                      strcmp(name, "-webkit-image-set") == 0))
                    set_depth = depth;
                continue;
            }
            i = skip_space(p, n, i);
            if (i < n && (p[i] == '"' || p[i] == '\'')) {
                /* url("..."): a function of one string. */
                rc = css_string(p, n, &i, &rd->css, &end);
                if (!css_close(p, n, &i) && cut)
                    end = -1;
            } else {
                rc = css_url_rest(p, n, &i, &rd->css, &end);
                if (end == 0 && cut)
                    end = -1;
            }
            if (rc == 0 && end >= 0 && !ns && rd->css.len > 0)
                rc = rd->found(rd, FOUND_LINK, (const char *)rd->css.data,
                               rd->css.len);
            import = false;
        } else {
            i++;
        }
    }
    return rc;
}

/* ----------------------------------------------------- lc__html_links */

/* What lc__html_links() collects. */
struct collect {
    struct lc__strs *links;
    char **base;
};

static int
collect_found(struct reader *rd, enum found what, const char *p, size_t n)
{
    struct collect *c = rd->arg;

    switch (what) {
    case FOUND_LINK:
    case FOUND_FORM:
        return lc__strs_addn(c->links, p, n);
    case FOUND_BASE:
        if (*c->base != NULL)
            return 0;
        *c->base = strndup(p, n);
        return *c->base != NULL ? 0 : TF_ENOMEM;
    default:
        return 0;
    }
}

int
lc__html_links(const char *p, size_t n, struct lc__strs *links, char **base)
{
    struct collect c = {links, base};
    struct reader rd;
    int rc;

    *base = NULL;
    reader_init(&rd, collect_found, &c, false);
    rc = read_html(&rd, p, n);
    reader_cleanup(&rd);
    if (rc < 0) {
        free(*base);
        *base = NULL;
    }
    return rc;
}

/* ----------------------------------------------------- lc__page_links */

/* Whether Content-Type CT names TYPE, ignoring case. */
static bool
ctype_is(const char *ct, const char *type)
{
    size_t len = strlen(type);

    while (*ct == ' ')
        ct++;
    return strncasecmp(ct, type, len) == 0 &&
           (ct[len] == '\0' || ct[len] == ';' || ct[len] == ' ');
}

/*
 * The encoding of page PG, as browsers settle it: a byte order mark, which
 * wins over anything else, as in browsers (*SKIP is then its length); the
 * Content-Type's charset; a style sheet's @charset rule, an XHTML page's
 * XML declaration, or an HTML page's <meta> in its first 1024 bytes; else
 * UTF-8 when the bytes are UTF-8 (*VALID is then their length, which need
 * not be checked again; else it is SIZE_MAX), and windows-1252 when they
 * are not. A label the Encoding standard does not know counts as none.
 */
static const char *
page_encoding(const struct lc__page *pg, bool css, size_t *skip, size_t *valid)
{
    const unsigned char *b = (const unsigned char *)pg->body;
    const char *enc = NULL;
    size_t n = pg->n;
    size_t v;

    *skip = 0;
    *valid = SIZE_MAX;
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        *skip = 3;
        return ENC_UTF8;
    }
    if (n >= 2 &&
        ((b[0] == 0xFE && b[1] == 0xFF) || (b[0] == 0xFF && b[1] == 0xFE))) {
        *skip = 2;
        return b[0] == 0xFE ? "UTF-16BE" : "UTF-16LE";
    }
    if (pg->ctype != NULL)
        enc = charset_param(pg->ctype, strlen(pg->ctype));
    if (enc == NULL && css && n > 10 && memcmp(b, "@charset \"", 10) == 0) {
        const char *q = memchr(b + 10, '"', (n < 1024 ? n : 1024) - 10);

        if (q != NULL && (size_t)(q - pg->body) + 1 < n && q[1] == ';')
            enc = declared(
                encoding_of(pg->body + 10, (size_t)(q - pg->body) - 10));
    } else if (enc == NULL && !css && pg->ctype != NULL &&
               ctype_is(pg->ctype, "application/xhtml+xml") && n > 5 &&
               memcmp(b, "<?xml", 5) == 0) {
        const char *q = memchr(b, '>', n < 1024 ? n : 1024);
        const char *e =
            q != NULL ? memmem(b, (size_t)(q - pg->body), "encoding", 8) : NULL;

        if (e != NULL) {
            size_t i = skip_space(pg->body, (size_t)(q - pg->body),
                                  (size_t)(e - pg->body) + 8);

            if (pg->body[i] == '=') {
                i = skip_space(pg->body, (size_t)(q - pg->body), i + 1);
                if (pg->body[i] == '"' || pg->body[i] == '\'') {
                    const char *c = memchr(pg->body + i + 1, pg->body[i],
                                           (size_t)(q - pg->body) - i - 1);

                    if (c != NULL)
                        enc = declared(encoding_of(
                            pg->body + i + 1, (size_t)(c - pg->body) - i - 1));
                }
            }
        }
    } else if (enc == NULL && !css) {
        struct reader rd;

        reader_init(&rd, NULL, NULL, true);
        rd.prescan = true;
        read_html(&rd, pg->body, n < 1024 ? n : 1024);
        enc = rd.charset;
        reader_cleanup(&rd);
    }
    if (enc != NULL)
        return enc;
    if (!is_utf8(pg->body, n, pg->cut, &v))
        return ENC_1252;
    *valid = v;
    return ENC_UTF8;
}

/* What a page's reading found, for lc__page_links(): each in one buffer,
 * NUL-terminated one after the other, so that a page of many links or
 * anchors costs no allocation for each. */
struct page_found {
    struct tf_buf links;   /* each a kind ('l' a link, 'f' a form's action)
                              and its text */
    struct tf_buf anchors; /* each as a field of the anchors message */
    char *base;            /* the first <base href>, or NULL */
};

static int
page_found(struct reader *rd, enum found what, const char *p, size_t n)
{
    struct page_found *f = rd->arg;
    int rc;

    switch (what) {
    case FOUND_BASE:
        if (f->base != NULL)
            return 0;
        f->base = strndup(p, n);
        return f->base != NULL ? 0 : TF_ENOMEM;
    case FOUND_ANCHOR:
        rc = put_text(&f->anchors, p, n);
        return rc == 0 ? tf_buf_append(&f->anchors, "", 1) : rc;
    default:
        rc = tf_buf_append(&f->links, what == FOUND_FORM ? "f" : "l", 1);
        if (rc == 0)
            rc = tf_buf_append(&f->links, p, n);
        return rc == 0 ? tf_buf_append(&f->links, "", 1) : rc;
    }
}

/* What lc__normalize_url() said of a link, cut after its '#'. */
struct memo {
    int rc;
    char *url; /* owned: the URL (LC__URL_OK), or NULL */
};

/* The state of lc__page_links() while it makes its messages. */
struct page_msgs {
    const struct lc__page *pg;
    const char *from;      /* what links resolve against */
    struct lc__strs *subs; /* the messages */
    struct lc__table seen; /* the messages sent, to send each once */
    struct tf_buf msg;     /* the message being made */
    struct tf_buf frag;    /* a link's fragment, decoded */
    struct tf_buf tmp;
    struct lc__table known; /* link texts normalized -> index in MEMO */
    struct lc__strs known_keys;
    struct memo *memo; /* owned */
    size_t nmemo;
    char *self;             /* FROM normalized (or its text) */
    char self_why[LC__WHY]; /* and why it is not a URL */
    int self_rc;            /* what lc__normalize_url() said of FROM */
    bool self_done;         /* SELF is made */
};

/* Starts message KIND of PAGE in M->msg: "K\tPAGE". */
static int
msg_start(struct page_msgs *m, char kind)
{
    char head[2] = {kind, '\t'};
    int rc;

    tf_buf_reset(&m->msg);
    rc = tf_buf_append(&m->msg, head, 2);
    if (rc == 0)
        rc = put_text(&m->msg, m->pg->key, strlen(m->pg->key));
    return rc;
}

/* Appends "\tFIELD" to M->msg. */
static int
msg_field(struct page_msgs *m, const char *field, size_t n)
{
    int rc = tf_buf_append(&m->msg, "\t", 1);

    return rc == 0 ? put_text(&m->msg, field, n) : rc;
}

/* Sends M->msg, unless it was sent already. */
static int
msg_send(struct page_msgs *m)
{
    const char *s = (const char *)m->msg.data;
    size_t dummy;
    int rc;

    if (lc__table_find(&m->seen, s, &dummy))
        return 0;
    rc = lc__strs_addn(m->subs, s, m->msg.len);
    if (rc == 0)
        rc = lc__table_add(&m->seen, m->subs->v[m->subs->n - 1], 0);
    return rc;
}

/*
 * Sets M->frag to the fragment P (N bytes, after its '#') as an anchor is
 * looked up: without the blanks at its end and the tabs and line breaks
 * inside (the URL parser drops them), percent-decoded, valid UTF-8; and
 * empty when it names no anchor: "top", which is the top of any page, or a
 * text fragment ":~:...".
 */
static int
fragment(struct page_msgs *m, const char *p, size_t n)
{
    unsigned char *s;
    const char *f;
    size_t len;
    size_t i;
    size_t k = 0;
    int rc = 0;

    tf_buf_reset(&m->frag);
    tf_buf_reset(&m->tmp);
    while (n > 0 && (unsigned char)p[n - 1] <= ' ')
        n--;
    for (i = 0; rc == 0 && i < n; i++)
        if (p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            rc = tf_buf_append(&m->tmp, p + i, 1);
    if (rc < 0 || m->tmp.len == 0)
        return rc;
    s = m->tmp.data;
    len = m->tmp.len;
    for (i = 0; i < len; i++) {
        int hi = s[i] == '%' && i + 2 < len ? hexval(s[i + 1]) : -1;
        int lo = hi >= 0 ? hexval(s[i + 2]) : -1;

        if (lo >= 0) {
            s[k++] = (unsigned char)(hi * 16 + lo);
            i += 2;
        } else {
            s[k++] = s[i];
        }
    }
    rc = put_text(&m->frag, (const char *)s, k);
    f = m->frag.data != NULL ? (const char *)m->frag.data : "";
    if (rc == 0 && ((m->frag.len == 3 && strncasecmp(f, "top", 3) == 0) ||
                    strncmp(f, ":~:", 3) == 0))
        tf_buf_reset(&m->frag);
    return rc;
}

/*
 * What lc__normalize_url() says of link TEXT up to and with its first '#'
 * (a fragment changes no URL): asked once for each, as a page links to a
 * few pages many times ("api.html#f1", "api.html#f2"). Sets *URL to the
 * URL, which M keeps, or NULL.
 */
static int
normalize_memo(struct page_msgs *m, const char *text, const char **url)
{
    const char *hash = strchr(text, '#');
    size_t len = hash != NULL ? (size_t)(hash - text) + 1 : strlen(text);
    char why[LC__WHY];
    struct memo *v;
    char *key;
    char *out = NULL;
    size_t i;
    int rc;

    *url = NULL;
    key = strndup(text, len);
    if (key == NULL)
        return TF_ENOMEM;
    if (lc__table_find(&m->known, key, &i)) {
        free(key);
        *url = m->memo[i].url;
        return m->memo[i].rc;
    }
    rc = lc__strs_add(&m->known_keys, key);
    if (rc < 0)
        return rc;
    if ((m->nmemo & (m->nmemo - 1)) == 0) {
        v = realloc(m->memo, (m->nmemo == 0 ? 1 : m->nmemo * 2) * sizeof(*v));
        if (v == NULL)
            return TF_ENOMEM;
        m->memo = v;
    }
    rc = lc__normalize_url(m->from, key, len, true, &out, why, sizeof(why));
    if (rc < 0)
        return rc;
    if (rc != LC__URL_OK) {
        free(out);
        out = NULL;
    }
    m->memo[m->nmemo].rc = rc;
    m->memo[m->nmemo].url = out;
    i = m->nmemo++;
    *url = out;
    return lc__table_add(&m->known, key, i) < 0 ? TF_ENOMEM : rc;
}

/*
 * Sends the message of the link TEXT (a form's action when FORM): "L" with
 * its URL and fragment, "S" for a form's action or a scheme not checked,
 * "D" for a link that is no URL; nothing for a link to no document. A
 * link to a place in the page itself ("#intro") links to the page's URL
 * with its fragment; one that names no place is no link.
 */
static int
link_msg(struct page_msgs *m, const char *text, bool form)
{
    const char *hash = strchr(text, '#');
    const char *t = text;
    const char *url;
    const char *why;
    char why_link[LC__WHY];
    char *out = NULL;
    int k;
    int rc = 0;

    while (*t != '\0' && (unsigned char)*t <= ' ')
        t++;
    tf_buf_reset(&m->frag);
    if (hash != NULL)
        rc = fragment(m, hash + 1, strlen(hash + 1));
    if (rc < 0)
        return rc;
    if (*t == '#') {
        if (m->frag.len == 0 || form)
            return 0;
        if (!m->self_done) {
            k = lc__normalize_url(NULL, m->from, strlen(m->from), true,
                                  &m->self, m->self_why, sizeof(m->self_why));
            if (k < 0)
                return k;
            m->self_rc = k;
            m->self_done = true;
        }
        k = m->self_rc;
        url = k == LC__URL_OK ? m->self : t;
        why = m->self_why;
    } else {
        k = normalize_memo(m, text, &url);
        why = why_link;
        if (k == LC__URL_DEAD || k == LC__URL_SKIP) {
            /* Its text as written, and why: asked again, as this is
             * rare. */
            k = lc__normalize_url(m->from, text, strlen(text), true, &out,
                                  why_link, sizeof(why_link));
            url = out;
        }
        if (k < 0)
            return k;
    }
    if (k == LC__URL_IGNORE || url == NULL) {
        free(out);
        return 0;
    }
    if (k == LC__URL_OK && form) {
        k = LC__URL_SKIP;
        why = "form action: not followed";
    }
    rc = msg_start(m, k == LC__URL_OK     ? LC__MSG_LINK
                      : k == LC__URL_DEAD ? LC__MSG_DEAD
                                          : LC__MSG_SKIP);
    if (rc == 0)
        rc = msg_field(m, url, strlen(url));
    if (rc == 0 && k == LC__URL_OK)
        rc = msg_field(m, m->frag.data != NULL ? (char *)m->frag.data : "",
                       m->frag.len);
    else if (rc == 0)
        rc = msg_field(m, why, strlen(why));
    free(out);
    if (rc == 0)
        rc = msg_send(m);
    return rc;
}

/* Sends the anchors message: "A\tPAGE", then each anchor of F once. */
static int
anchors_msg(struct page_msgs *m, struct page_found *f)
{
    struct lc__table seen = {NULL, 0, 0};
    const char *p = f->anchors.data != NULL ? (char *)f->anchors.data : "";
    const char *end = p + f->anchors.len;
    size_t dummy;
    int rc;

    /* The keys point into F->anchors, which no longer grows. */
    rc = msg_start(m, LC__MSG_ANCHORS);
    for (; rc == 0 && p < end; p += strlen(p) + 1) {
        if (lc__table_find(&seen, p, &dummy))
            continue;
        rc = lc__table_add(&seen, p, 0);
        if (rc == 0)
            rc = tf_buf_append(&m->msg, "\t", 1);
        if (rc == 0)
            rc = tf_buf_puts(&m->msg, p);
    }
    lc__table_cleanup(&seen);
    if (rc == 0)
        rc = lc__strs_addn(m->subs, (char *)m->msg.data, m->msg.len);
    return rc;
}

int
lc__page_links(const struct lc__page *pg, struct lc__strs *subs)
{
    bool css = pg->ctype != NULL && lc__is_css(pg->ctype);
    struct page_found f;
    struct page_msgs m;
    struct tf_buf conv;
    struct reader rd;
    const char *enc;
    const char *text;
    const char *p;
    const char *end;
    char why[LC__WHY];
    char *base = NULL;
    size_t skip;
    size_t valid;
    size_t len;
    size_t i;
    int rc = 0;

    memset(&f, 0, sizeof(f));
    memset(&m, 0, sizeof(m));
    m.pg = pg;
    m.subs = subs;
    m.from = pg->final != NULL ? pg->final : pg->key;
    tf_buf_init(&f.links, 0);
    tf_buf_init(&f.anchors, 0);
    tf_buf_init(&m.msg, 0);
    tf_buf_init(&m.frag, 0);
    tf_buf_init(&m.tmp, 0);
    tf_buf_init(&conv, 0);
    reader_init(&rd, page_found, &f, pg->cut);

    enc = page_encoding(pg, css, &skip, &valid);
    text = pg->body;
    len = valid;
    if (valid == SIZE_MAX)
        rc = to_utf8(enc, pg->body + skip, pg->n - skip, pg->cut, &conv, &text,
                     &len);
    if (rc == 0)
        rc =
            css ? read_css(&rd, text, len, pg->cut) : read_html(&rd, text, len);
    if (rc == 0 && f.base != NULL) {
        /* The base applies to the whole page, wherever it is, and is
         * itself resolved against the page's URL; one of another scheme
         * (absolute then) makes the page's relative links of that
         * scheme. */
        int k = lc__normalize_url(m.from, f.base, strlen(f.base), true, &base,
                                  why, sizeof(why));

        if (k == LC__URL_OK || k == LC__URL_SKIP) {
            m.from = base;
        } else if (k == TF_ENOMEM) {
            rc = k;
        } else {
            free(base); /* a <base> that is no URL is no base */
            base = NULL;
        }
    }
    p = f.links.data != NULL ? (const char *)f.links.data : "";
    end = p + f.links.len;
    for (; rc == 0 && p < end; p += strlen(p) + 1)
        rc = link_msg(&m, p + 1, p[0] == 'f');
    if (rc == 0 && !css)
        rc = anchors_msg(&m, &f);

    reader_cleanup(&rd);
    tf_buf_cleanup(&conv);
    tf_buf_cleanup(&m.msg);
    tf_buf_cleanup(&m.frag);
    tf_buf_cleanup(&m.tmp);
    lc__table_cleanup(&m.seen);
    lc__table_cleanup(&m.known);
    lc__strs_cleanup(&m.known_keys);
    for (i = 0; i < m.nmemo; i++)
        free(m.memo[i].url);
    free(m.memo);
    tf_buf_cleanup(&f.links);
    tf_buf_cleanup(&f.anchors);
    free(f.base);
    free(m.self);
    free(base);
    return rc;
}

bool
lc__is_html(const char *ct)
{
    return ctype_is(ct, "text/html") || ctype_is(ct, "application/xhtml+xml");
}

bool
lc__is_css(const char *ct)
{
    return ctype_is(ct, "text/css");
}
