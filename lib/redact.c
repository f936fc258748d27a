/* redact.c - secret names, and secrets found in text and command lines. */
#define _GNU_SOURCE
#include "redact.h"

#include <string.h>
#include <strings.h>

const char ft_redact_default[] =
    "password,passwd,pwd,secret,token,api_key,apikey,authorization,auth_header,credential,"
    "private_key,access_key,session_key,sessionid,session_id,cookie,csrf,xsrf,signature";

/* Character classes, one table lookup each (the C library's ctype calls are locale-aware
 * function calls, per byte). */
enum {
    C_ALNUM = 1,   /* [A-Za-z0-9] */
    C_NAME = 2,    /* a name's: alnum, _ - . */
    C_TOKEN = 4,   /* a credential's: alnum, . _ ~ + / = - */
    C_END = 8,     /* ends a plain value: white space, & ; , ' " ) ] } > # */
    C_SCHEME = 16, /* may start a scheme's word: B b N n D */
    C_NOAUTH = 32, /* not in a URL's user information: / ? # @ space tab newline quotes */
};

static const unsigned char cls[256] = {
    ['0' ... '9'] = C_ALNUM | C_NAME | C_TOKEN,
    ['A'] = C_ALNUM | C_NAME | C_TOKEN,
    ['C'] = C_ALNUM | C_NAME | C_TOKEN,
    ['E' ... 'M'] = C_ALNUM | C_NAME | C_TOKEN,
    ['O' ... 'Z'] = C_ALNUM | C_NAME | C_TOKEN,
    ['a'] = C_ALNUM | C_NAME | C_TOKEN,
    ['c' ... 'm'] = C_ALNUM | C_NAME | C_TOKEN,
    ['o' ... 'z'] = C_ALNUM | C_NAME | C_TOKEN,
    ['B'] = C_ALNUM | C_NAME | C_TOKEN | C_SCHEME,
    ['D'] = C_ALNUM | C_NAME | C_TOKEN | C_SCHEME,
    ['N'] = C_ALNUM | C_NAME | C_TOKEN | C_SCHEME,
    ['b'] = C_ALNUM | C_NAME | C_TOKEN | C_SCHEME,
    ['n'] = C_ALNUM | C_NAME | C_TOKEN | C_SCHEME,
    ['_'] = C_NAME | C_TOKEN,
    ['-'] = C_NAME | C_TOKEN,
    ['.'] = C_NAME | C_TOKEN,
    ['~'] = C_TOKEN,
    ['+'] = C_TOKEN,
    ['/'] = C_TOKEN | C_NOAUTH,
    ['='] = C_TOKEN,
    [' '] = C_END | C_NOAUTH,
    ['\t'] = C_END | C_NOAUTH,
    ['\n'] = C_END | C_NOAUTH,
    ['\v'] = C_END,
    ['\f'] = C_END,
    ['\r'] = C_END,
    ['&'] = C_END,
    [';'] = C_END,
    [','] = C_END,
    ['\''] = C_END | C_NOAUTH,
    ['"'] = C_END | C_NOAUTH,
    [')'] = C_END,
    [']'] = C_END,
    ['}'] = C_END,
    ['>'] = C_END,
    ['#'] = C_END | C_NOAUTH,
    ['?'] = C_NOAUTH,
    ['@'] = C_NOAUTH,
};

static inline int
is_alnum(unsigned char c)
{
    return cls[c] & C_ALNUM;
}

static inline unsigned char
norm(unsigned char c)
{
    return c == '-' ? '_' : (unsigned char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
}

/* The trigram filter's bit for three normalised characters. */
static inline unsigned
tri(unsigned char a, unsigned char b, unsigned char c)
{
    return ((unsigned)a << 10 ^ (unsigned)b << 5 ^ c) & 32767;
}

static void
add_items(struct ft_redact *r, const char *list)
{
    for (const char *p = list; *p && r->n < FT_REDACT_MAX;) {
        size_t len = strcspn(p, ","), k = 0;
        char *item = r->item[r->n];
        for (size_t i = 0; i < len && k + 1 < sizeof(r->item[0]); i++) {
            if (p[i] != ' ') {
                item[k++] = (char)norm((unsigned char)p[i]);
            }
        }
        item[k] = '\0';
        if (strcmp(item, "none") == 0) {
            memset(r, 0, sizeof(*r)); /* what came before is dropped */
        } else if (k > 0) {
            unsigned bigram = (unsigned)(unsigned char)item[0] << 8 | (unsigned char)item[1];
            r->first[(unsigned char)item[0]] |= 1ull << r->n;
            r->pair[bigram >> 6] |= 1ull << (bigram & 63);
            r->short_item |= k == 1;
            r->under3 |= k < 3;
            if (k >= 3) {
                unsigned t =
                    tri((unsigned char)item[0], (unsigned char)item[1], (unsigned char)item[2]);
                r->tri[t >> 6] |= 1ull << (t & 63);
            }
            r->n++;
        }
        p += len + (p[len] == ',');
    }
}

void
ft_redact_init(struct ft_redact *r, const char *list)
{
    memset(r, 0, sizeof(*r));
    add_items(r, ft_redact_default);
    if (list != NULL) {
        add_items(r, list);
    }
}

/* Whether fragment f occurs in s (n bytes, normalised) at i. */
static inline int
at(const char *f, const unsigned char *s, size_t n, size_t i)
{
    for (size_t k = 0; f[k]; k++) {
        if (i + k >= n || s[i + k] != (unsigned char)f[k]) {
            return 0;
        }
    }
    return 1;
}

/* Whether a fragment occurs in low (len bytes, normalised). */
static int
in_window(const struct ft_redact *r, const unsigned char *low, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        /* Only where some fragment's first two characters are, and then only the
         * fragments that start with this character. */
        unsigned bigram = (unsigned)low[i] << 8 | (i + 1 < len ? low[i + 1] : 0);
        if (!r->short_item && !(r->pair[bigram >> 6] >> (bigram & 63) & 1)) {
            continue;
        }
        for (uint64_t m = r->first[low[i]]; m != 0; m &= m - 1) {
            if (at(r->item[__builtin_ctzll(m)], low, len, i)) {
                return 1;
            }
        }
    }
    return 0;
}

int
ft_redact_name(const struct ft_redact *r, const char *name, size_t n)
{
    unsigned char low[256];

    /* Normalised once; a name longer than that is looked at in overlapping windows. */
    for (size_t base = 0; base < n; base += sizeof(low) - sizeof(r->item[0])) {
        size_t len = n - base < sizeof(low) ? n - base : sizeof(low);
        /* len >= 1 as base < n (cppcheck 2.x misreads the window step as the length). */
        // cppcheck-suppress knownConditionTrueFalse
        for (size_t i = 0; i < len; i++) {
            low[i] = norm((unsigned char)name[base + i]);
        }
        if (in_window(r, low, len)) {
            return 1;
        }
        if (len < sizeof(low)) {
            break;
        }
    }
    return 0;
}

/* ---- Output ------------------------------------------------------------------------- */

struct out {
    char *p;
    size_t len, cap;
    int full, changed;
};

static void
put(struct out *o, const char *s, size_t n)
{
    if (o->full) {
        return;
    }
    if (n > o->cap - o->len) {
        n = o->cap - o->len;
        o->full = 1;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void
put_redacted(struct out *o)
{
    o->changed = 1;
    if (o->full || FT_REDACTED_LEN > o->cap - o->len) {
        o->full = 1; /* all of the marker or none: never half a secret's place */
        return;
    }
    memcpy(o->p + o->len, FT_REDACTED, FT_REDACTED_LEN);
    o->len += FT_REDACTED_LEN;
}

/* ---- Scanning ----------------------------------------------------------------------- */

static inline int
name_char(unsigned char c)
{
    return cls[c] & C_NAME;
}

static inline int
token_char(unsigned char c)
{
    return cls[c] & C_TOKEN;
}

static inline int
plain_end(unsigned char c)
{
    return cls[c] & C_END;
}

/* The end of a quoted string starting at s[i] (the quote), past its closing quote. */
static size_t
quoted_end(const char *s, size_t n, size_t i)
{
    char q = s[i];

    for (i++; i < n; i++) {
        if (s[i] == '\\') {
            i++;
        } else if (s[i] == q) {
            return i + 1;
        }
    }
    return n;
}

static size_t
skip_spaces(const char *s, size_t n, size_t i)
{
    while (i < n && s[i] == ' ') {
        i++;
    }
    return i;
}

/* An HTTP authentication scheme at s[i] (a word start): its length, or 0. Bearer and
 * Negotiate in any case; Basic and Digest capitalised and followed by a long token, since
 * "basic" is also an English word. */
static size_t
scheme_at(const char *s, size_t n, size_t i)
{
    static const struct {
        const char *word;
        int any_case;
        size_t min_token;
    } schemes[] = {{"bearer", 1, 1}, {"negotiate", 1, 1}, {"Basic", 0, 8}, {"Digest", 0, 8}};

    for (size_t k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
        size_t w = strlen(schemes[k].word), t = 0;
        if (i + w + 1 >= n || s[i + w] != ' ' ||
            (schemes[k].any_case ? strncasecmp(s + i, schemes[k].word, w)
                                 : strncmp(s + i, schemes[k].word, w)) != 0) {
            continue;
        }
        while (i + w + 1 + t < n && token_char((unsigned char)s[i + w + 1 + t])) {
            t++;
        }
        if (t >= schemes[k].min_token) {
            return w + 1;
        }
    }
    return 0;
}

/* "scheme://user:password@host", or "user:password@host" alone: the password's start and
 * end, if s[i] is the "://" or the ':' after the user. */
static int
userinfo_at(const char *s, size_t n, size_t i, size_t *from, size_t *to)
{
    size_t j = i + 3, colon = 0;

    if (i + 3 <= n && memcmp(s + i, "://", 3) == 0) {
        for (; j < n && !(cls[(unsigned char)s[j]] & C_NOAUTH); j++) {
            if (s[j] == ':' && colon == 0) {
                colon = j;
            }
        }
    } else if (i > 0 && name_char((unsigned char)s[i - 1])) {
        colon = i; /* after a user name: the password runs to the '@' */
        for (j = i + 1; j < n && !(cls[(unsigned char)s[j]] & C_NOAUTH) && s[j] != ':'; j++) {
        }
        if (j + 1 >= n || !is_alnum((unsigned char)s[j + 1])) {
            return 0; /* no host after the '@' */
        }
    }
    if (j < n && s[j] == '@' && colon != 0 && colon + 1 < j) {
        *from = colon + 1;
        *to = j;
        return 1;
    }
    return 0;
}

/* Whether '=' or ':' (or, after a quoted name, ',') follows position i, spaces aside. */
static int
has_separator(const char *s, size_t n, size_t i, int quoted)
{
    i = skip_spaces(s, n, i);
    return i < n && (s[i] == '=' || s[i] == ':' || (quoted && s[i] == ','));
}

/* After a name ending at i (past its closing quote if quoted): the value's start and end
 * if a separator and a value follow. */
static int
value_after(const char *s, size_t n, size_t i, int quoted, size_t *from, size_t *to, int *inner)
{
    char sep;

    i = skip_spaces(s, n, i);
    if (i >= n || (s[i] != '=' && s[i] != ':' && !(quoted && s[i] == ','))) {
        return 0;
    }
    sep = s[i];
    if (sep == ':' && i + 2 < n && s[i + 1] == '/' && s[i + 2] == '/') {
        return 0; /* a URL's scheme */
    }
    i = skip_spaces(s, n, i + 1);
    if (i < n && s[i] == 'b' && i + 1 < n && (s[i + 1] == '\'' || s[i + 1] == '"')) {
        i++; /* bytes: b'...' */
    }
    if (i < n && (s[i] == '\'' || s[i] == '"')) {
        size_t close = quoted_end(s, n, i);
        *from = i + 1;
        *to = close > *from && s[close - 1] == s[i] ? close - 1 : n;
        *inner = 1;
        return *to > *from;
    }
    if (sep == ',') {
        return 0; /* a pair ('name', value) only when the value is quoted too */
    }
    *from = i;
    *inner = 0;
    if (sep == ':' && !quoted) {
        while (i < n && s[i] != '\n' && s[i] != '\r') { /* a header line: all of it */
            i++;
        }
    } else {
        while (i < n && !plain_end((unsigned char)s[i])) {
            i++;
        }
    }
    *to = i;
    return *to > *from;
}

/* At s[i]: a name (plain, or quoted) with a value after it. Returns the length of the
 * name part consumed (0 if none) and, for a secret name, where its value is. */
static size_t
name_at(const struct ft_redact *r, const char *s, size_t n, size_t i, size_t *from, size_t *to,
        int *secret)
{
    size_t j = i, end;
    int quoted = s[i] == '\'' || s[i] == '"', inner;

    *secret = 0;
    if (quoted) {
        j++;
    } else if (i > 0 && name_char((unsigned char)s[i - 1])) {
        return 0;
    }
    while (j < n && name_char((unsigned char)s[j])) {
        j++;
    }
    if (j == i + (size_t)quoted) {
        return 0;
    }
    end = j;
    if (quoted) {
        if (j >= n || s[j] != s[i]) {
            return 0;
        }
        j++;
    }
    /* The separator is cheaper to look for than the name among the fragments. */
    if (has_separator(s, n, j, quoted) &&
        ft_redact_name(r, s + i + quoted, end - i - (size_t)quoted) &&
        value_after(s, n, j, quoted, from, to, &inner)) {
        *secret = 1;
    }
    return j - i;
}

/* outp is written through o.p: not const, whatever clang-tidy infers. */
size_t
ft_redact_text(const struct ft_redact *r, const char *s, size_t n,
               char *outp, // NOLINT(readability-non-const-parameter)
               size_t cap, int *changed)
{
    struct out o = {outp, 0, cap, 0, 0};
    size_t i = 0, done = 0, from, to, len; /* s[done..i) is still to be copied */
    int secret;

    /* Text is copied in runs, between the places where something is replaced. */
    while (i < n && !o.full) {
        unsigned char c = (unsigned char)s[i];
        int word_start = i == 0 || !is_alnum((unsigned char)s[i - 1]);
        if (c == ':' && userinfo_at(s, n, i, &from, &to)) {
            put(&o, s + done, from - done);
            put_redacted(&o);
            i = done = to;
        } else if (word_start && (cls[c] & C_SCHEME) && (len = scheme_at(s, n, i)) > 0) {
            put(&o, s + done, i + len - done);
            put_redacted(&o);
            for (i += len; i < n && token_char((unsigned char)s[i]); i++) {
            }
            done = i;
        } else if ((name_char(c) || c == '\'' || c == '"') &&
                   (len = name_at(r, s, n, i, &from, &to, &secret)) > 0) {
            if (secret) {
                put(&o, s + done, from - done);
                put_redacted(&o);
                i = done = to;
            } else {
                i += len;
            }
        } else {
            i++;
        }
    }
    put(&o, s + done, (i < n ? i : n) - done);
    if (i < n) {
        o.full = 1;
    }
    if (changed != NULL) {
        *changed = o.changed;
    }
    return o.len;
}

/* The bytes that may make text hold a secret: 1 a separator ('=', ':'), 2 ',', 4 a quote,
 * 8 the first letter of a credential's scheme as HTTP writes it (Bearer, Basic, Digest,
 * Negotiate), 16 '@', 32 ':'. */
static const unsigned char may_class[256] = {
    ['='] = 1, [':'] = 1 | 32, ['@'] = 16, [','] = 2, ['\''] = 4,
    ['"'] = 4, ['B'] = 8,      ['D'] = 8,  ['N'] = 8,
};

/* Whether fragment f occurs in s (n bytes, as they are) at i. */
static inline int
at_raw(const char *f, const char *s, size_t n, size_t i)
{
    for (size_t k = 0; f[k]; k++) {
        if (i + k >= n || norm((unsigned char)s[i + k]) != (unsigned char)f[k]) {
            return 0;
        }
    }
    return 1;
}

/* Whether a fragment starting with a (s[i] normalised) occurs in s at i. */
static int
fragment_at(const struct ft_redact *r, const char *s, size_t n, size_t i, unsigned char a)
{
    for (uint64_t m = r->first[a]; m != 0; m &= m - 1) {
        if (at_raw(r->item[__builtin_ctzll(m)], s, n, i)) {
            return 1;
        }
    }
    return 0;
}

/* Whether a fragment occurs anywhere in text (what ft_redact_name says of it): where the
 * three characters there start some fragment (r->tri, one bit test a byte), the
 * fragments that start with the first are compared. */
static int
has_fragment(const struct ft_redact *r, const char *s, size_t n)
{
    unsigned char a, b;

    if (r->under3 || n < 3) {
        return ft_redact_name(r, s, n);
    }
    a = norm((unsigned char)s[0]);
    b = norm((unsigned char)s[1]);
    for (size_t i = 0; i + 2 < n; i++) {
        unsigned char c = norm((unsigned char)s[i + 2]);
        unsigned t = tri(a, b, c);
        if ((r->tri[t >> 6] >> (t & 63) & 1) && fragment_at(r, s, n, i, a)) {
            return 1;
        }
        a = b;
        b = c;
    }
    return 0;
}

int
ft_redact_text_may(const struct ft_redact *r, const char *s, size_t n)
{
    unsigned seen = 0;

    /* One pass that only ORs a table's bits (no branch per byte), then a look at what it
     * found: a URL's password needs ':' and '@'; a credential comes after its scheme's
     * word; a secret's name is followed by '=' or ':' (or is a quoted pair's: "('name',
     * 'x')"), and then one of the fragments is somewhere in the text, which one more pass
     * tells (most text with separators, JSON or a query string, names no secret). */
    for (size_t i = 0; i < n; i++) {
        seen |= may_class[(unsigned char)s[i]];
    }
    if ((seen & 48) == 48) {
        return 1;
    }
    for (size_t i = 0; (seen & 8) && i < n; i++) {
        if (may_class[(unsigned char)s[i]] == 8 && (i == 0 || !is_alnum((unsigned char)s[i - 1])) &&
            scheme_at(s, n, i) > 0) {
            return 1;
        }
    }
    if ((seen & 1) || (seen & 6) == 6) {
        return has_fragment(r, s, n);
    }
    return 0;
}

size_t
ft_redact_argv(const struct ft_redact *r, const char *argv, size_t len, char *out, size_t cap)
{
    size_t used = 0;
    int next_is_secret = 0;

    for (const char *a = argv, *end = argv + len; a < end && used < cap;) {
        size_t n = strnlen(a, (size_t)(end - a));
        if (next_is_secret && n > 0 && a[0] != '-') {
            size_t k = cap - used >= FT_REDACTED_LEN ? FT_REDACTED_LEN : 0;
            memcpy(out + used, FT_REDACTED, k);
            used += k;
            next_is_secret = 0;
        } else {
            const char *name = a;
            size_t dashes = 0;
            while (dashes < n && name[dashes] == '-') {
                dashes++;
            }
            /* "--password" alone: the next argument is its value. */
            next_is_secret = dashes > 0 && memchr(a, '=', n) == NULL &&
                             ft_redact_name(r, a + dashes, n - dashes);
            used += ft_redact_text(r, a, n, out + used, cap - used, NULL);
        }
        if (a + n < end && used < cap) {
            out[used++] = '\0';
        }
        a += n + 1;
    }
    return used;
}

size_t
ft_redact_span(const char *s, size_t n, size_t shown)
{
    /* A password's '@' comes before the first byte that ends user information; every other
     * secret is decided by what precedes its value. */
    for (size_t i = shown; i < n; i++) {
        if (cls[(unsigned char)s[i]] & C_NOAUTH) {
            return i + 1;
        }
    }
    return n;
}
