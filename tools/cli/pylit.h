/* pylit.h - a value as Python rendered it (repr text: "'coffee'", "[1, 2.5, None]",
 * "{'a': (1,)}") written as the JSON value it stands for, for formats that want typed
 * values (the seed's hierarchical JSON: "coffee", [1, 2.5, null], {"a": [1]}).
 *
 * None, True, False, ints, floats, str, and lists, tuples, sets and dicts of them become
 * JSON values (tuples and sets as arrays, dict keys as strings the way json.dumps makes
 * them; inf and nan as strings). Anything else, or text that is not a whole literal (an
 * object's "<Class object at 0x...>", a cut rendering "...[truncated from N chars]",
 * "<redacted>"), is written as a JSON string of the text itself. Nothing allocates.
 */
#ifndef FT_CLI_PYLIT_H
#define FT_CLI_PYLIT_H

#include "lib/buf.h"

/* Appends text's JSON value to b. Returns 1 when text was a literal, 0 when it was
 * written as a string. */
int ft_pylit_to_json(struct ft_buf *b, const char *text);

#endif
