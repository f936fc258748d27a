/* jsonval.h - a cheap check that text is one JSON value (RFC 8259) in valid UTF-8.
 *
 * The traced process sends values as format-3 JSON (wire FT_ARG_JSON, RESULT_JSON); the
 * writer copies them into its output after this check, so that a broken or hostile
 * library cannot make events.jsonl or tree.json unreadable. One pass, no allocation,
 * nesting bounded by FT_JSONVAL_DEPTH.
 */
#ifndef FT_LIB_JSONVAL_H
#define FT_LIB_JSONVAL_H

#include <stddef.h>

#define FT_JSONVAL_DEPTH 64 /* arrays and objects nested deeper are refused */

/* 1 when s[0..n) is exactly one JSON value (whitespace around it allowed) whose strings
 * are valid UTF-8 with valid escapes, else 0. */
int ft_jsonval_check(const char *s, size_t n);

#endif
