/* capture_json.h - a value as format-3 JSON (docs/format.md "Rendered values"), in the
 * traced process.
 *
 * What is plain JSON is written as JSON; anything else is described in place with the
 * rendering capture.h writes for it ({"type": T, "repr": R}), made in the free end of the
 * same area and escaped into place: no allocation, no second pass over the object. The
 * output is bounded while it is made (--max-arg-length); a value that does not fit is
 * described whole, with "truncated": N. The writer checks every value (lib/jsonval.c)
 * before it reaches a file.
 *
 * GIL held. Runs no Python code unless --repr (as capture.h); never raises.
 */
#ifndef FT_INJECT_CAPTURE_JSON_H
#define FT_INJECT_CAPTURE_JSON_H

#include "capture.h"
#include "text.h"

/* Appends o's format-3 JSON (docs/format.md "Rendered values"): None, bool, int within
 * 2^53, finite float, str, and list, tuple, dict with str keys of them as JSON; any other
 * value, in place, as {"type": T, "repr": R} with R what ft_capture_value writes; a value
 * cut at the limit as a whole, with "truncated": N. Secrets as ft_capture_value hides
 * them, a hidden value as {"redacted": true, "repr": "<redacted>"}. The area needs
 * ft_capture_value_cap() bytes. */
void ft_capture_json(struct ft_text *out, PyObject *o);

#endif
