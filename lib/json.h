/* json.h - JSON text emission into an ft_buf: strings with escaping, and a reader.
 *
 * Strings are taken as bytes that should be UTF-8; any byte sequence that is not valid
 * UTF-8 is written as U+FFFD, so the output is always valid JSON in valid UTF-8.
 */
#ifndef FT_LIB_JSON_H
#define FT_LIB_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/* The largest int a JSON number carries exactly to every reader (2^53 - 1: jq and
 * JavaScript read numbers as doubles); format 3 describes bigger ones. */
#define FT_JSON_INT_MAX ((int64_t)9007199254740991)

/* Appends s[0..n) as a quoted JSON string. */
void ft_json_put_str(struct ft_buf *b, const char *s, size_t n);

/* Appends s[0..n) escaped but without the surrounding quotes. */
void ft_json_put_raw_escaped(struct ft_buf *b, const char *s, size_t n);

static inline void
ft_json_put_cstr(struct ft_buf *b, const char *s)
{
    ft_json_put_str(b, s, strlen(s));
}

#endif
