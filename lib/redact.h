/* redact.h - what counts as a secret, and secrets taken out of text.
 *
 * A secret is known by its name (a parameter, dict key, header, attribute, query-string
 * parameter or command-line option whose name contains one of the fragments, in any case,
 * '-' and '_' alike: "X-Api-Key" matches "api_key") or by its form (the credentials of an
 * HTTP Authorization value: "Bearer ...", "Basic ..."; the password of a URL's user
 * information). What has neither, a token passed positionally under an innocent name, is
 * not seen: see docs/architecture.md, "Secrets". Pure: no I/O, no allocation.
 */
#ifndef FT_LIB_REDACT_H
#define FT_LIB_REDACT_H

#include <stddef.h>
#include <stdint.h>

#define FT_REDACTED     "<redacted>"
#define FT_REDACTED_LEN 10
#define FT_REDACT_MAX   64

struct ft_redact {
    int n;
    char item[FT_REDACT_MAX][40]; /* lower case, '-' as '_' */
    uint64_t first[256];          /* first[c]: the fragments that start with c (bits) */
    uint64_t pair[1024];          /* bit c1 << 8 | c2: a fragment starts with c1 c2 */
    int short_item;               /* some fragment is one character long */
    int under3;                   /* some fragment is shorter than three characters */
    uint64_t tri[512];            /* bit ft_redact_tri(c1, c2, c3): a fragment starts so */
};

/* The fragments used when FLOWTRACE_REDACT is not set. */
extern const char ft_redact_default[];

/* Fills r with the default fragments and those of a comma-separated list (NULL or "":
 * the defaults alone). An item "none" drops every fragment before it: "none" redacts
 * nothing, "none,account" only account. Fragments longer than 39 bytes are cut. */
void ft_redact_init(struct ft_redact *r, const char *list);

/* Whether name (n bytes) contains a fragment. */
int ft_redact_name(const struct ft_redact *r, const char *name, size_t n);

/* Writes text (n bytes) to out (cap bytes) with secrets replaced by <redacted>:
 *  - values after a secret name and '=' or ':' ("token=x&a=1", "--password=x",
 *    "'password': 'x'", "\"api_key\": \"x\"", "Authorization: Bearer x" to the line's end);
 *  - the credentials after "Bearer", "Basic", "Digest", "Token", "Negotiate";
 *  - the password in "scheme://user:password@host".
 * Returns the length of the result; if it does not fit, the result is cut at cap (never
 * in the middle of a redaction: a secret is never half-written). Sets *changed (if not
 * NULL) to whether anything was replaced. out and text must not overlap. */
size_t ft_redact_text(const struct ft_redact *r, const char *text, size_t n, char *out, size_t cap,
                      int *changed);

/* Whether ft_redact_text could change text: a cheap test for the common case, about two
 * instructions a byte (no '=', ':', '@', quoted pair or credential: nothing to look at),
 * and where separators are, whether a fragment occurs anywhere in the text (a secret's
 * name is part of the text). A credential's scheme is looked for as HTTP writes it,
 * capitalised ("Bearer ..."); ft_redact_text itself also finds "bearer ..." and
 * "negotiate ...". */
int ft_redact_text_may(const struct ft_redact *r, const char *text, size_t n);

/* How much of text (n bytes) decides what its first `shown` bytes become: ft_redact_text
 * of that prefix redacts them as it would the whole text (a secret's name comes before its
 * value; a URL's password ends at an '@' before the first byte that ends user
 * information, which the prefix includes). A renderer that shows at most `shown` bytes
 * looks at no more than this. */
size_t ft_redact_span(const char *text, size_t n, size_t shown);

/* A command line (NUL-separated arguments, len bytes) with secrets replaced: the value of
 * "--password=x" and of "--password x" (the next argument), "TOKEN=x" assignments, and
 * what ft_redact_text finds in each argument. Returns the new length (at most cap). */
size_t ft_redact_argv(const struct ft_redact *r, const char *argv, size_t len, char *out,
                      size_t cap);

#endif
