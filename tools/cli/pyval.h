/* pyval.h - a recorded value (output format 3, docs/format.md "Showing a value") as the
 * text the CLI shows: the Python repr the value stands for; and, for exports, as JSON
 * or OTLP values without described values.
 *
 * From format 3 on a value is a JSON value: null, booleans, numbers, strings, arrays and
 * objects stand for themselves (None, True, 115, 'ana', [1, 'a'], {'k': 2}); an object
 * with a string member "repr" is a described value and shows as that repr. A string
 * shows quoted as the tracer quotes str (' unless the text has ' and no "; \\, the
 * quote, \n, \r, \t escaped, other ASCII control characters as \xNN, the rest as it is).
 * Numbers keep the text they were written with. In formats 1 and 2 every value is a
 * string holding its repr already: the caller prints it as it is.
 *
 * The input is one complete JSON value as text (what tree.json or events.jsonl holds;
 * whitespace allowed); nothing allocates except the output buffer's growth. Nesting
 * deeper than FT_PYVAL_MAX_DEPTH, or text that is not one JSON value, is refused.
 */
#ifndef FT_CLI_PYVAL_H
#define FT_CLI_PYVAL_H

#include <stddef.h>

#include "lib/buf.h"

#define FT_PYVAL_MAX_DEPTH 64

/* Appends the text json[0..n) stands for to b. Returns 0, or -1 when json is not one
 * JSON value (b is then left as it was). */
int ft_pyval_show(struct ft_buf *b, const char *json, size_t n);

/* Appends str's repr: s[0..n) (UTF-8 text) quoted as the tracer quotes it. */
void ft_pyval_put_str(struct ft_buf *b, const char *s, size_t n);

/* Appends json[0..n) as JSON with every described value replaced by its repr as a JSON
 * string (for targets that take JSON but know nothing of described values: exports).
 * Returns 0, or -1 when json is not one JSON value (b is then left as it was). */
int ft_pyval_plain(struct ft_buf *b, const char *json, size_t n);

/* Appends json[0..n) as an OTLP/JSON AnyValue: JSON's types as OTLP's (intValue as a
 * decimal string, doubleValue, boolValue, stringValue, arrayValue, kvlistValue); null and
 * a described value as the stringValue of their text shown. Returns 0, or -1 when json
 * is not one JSON value (b is then left as it was). */
int ft_pyval_otlp(struct ft_buf *b, const char *json, size_t n);

/* ft_pyval_plain of a map of values (a call's "locals": {name: value}): the object's
 * members are values, the object itself is not one (a variable may be named "repr"). */
int ft_pyval_plain_map(struct ft_buf *b, const char *json, size_t n);

/* If json[0..n) is a described value, sets *repr to the start of its "repr" member's JSON
 * string (the opening quote) and *len to that string's length in the text, and returns
 * 1; returns 0 for any other value. */
int ft_pyval_described(const char *json, size_t n, const char **repr, size_t *len);

#endif
