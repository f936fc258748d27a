/* values.h - value records (what a call took and gave) turned into the JSON texts a call
 * carries.
 *
 * The traced process renders values as text, or sends ints as 8 bytes (wire 1.3, 1.4);
 * these functions check a record's payload and store its JSON on the call: arguments,
 * result, the arguments a call changed, the exception, memory figures. The text is built
 * in scratch (a buffer the caller owns and reuses, so that steady state allocates
 * nothing) and kept in the call's inline space when it fits. Each returns 0,
 * FT_EBADRECORD for a malformed payload, or -ENOMEM; the call keeps its old text then.
 *
 * Values are format-3 JSON (docs/format.md "Rendered values"): ints sent as 8 bytes
 * become numbers (beyond 2^53 - 1, {"type": "int", "repr": digits}); text flagged
 * FT_ARG_JSON (RESULT_JSON) is checked (jsonval.h) and copied; unflagged text, from a
 * stream before 1.8, is a rendering: {"repr": text}. A flagged text that is not JSON is
 * stored as {"repr": its bytes} too, and the functions that take texts return how many
 * were (a positive count) rather than 0, for the run to count.
 */
#ifndef FT_LIB_VALUES_H
#define FT_LIB_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "call.h"
#include "wire.h"

/* Sets n's text in slot (one of n's ft_text fields) to a copy of s. */
int ft_values_set(struct ft_call *n, struct ft_text *slot, const char *s, size_t len);

/* Makes one text absent. */
void ft_values_drop(struct ft_text *t);

/* Frees what n's texts hold on the heap; n's texts are all absent afterwards. */
void ft_values_clear(struct ft_call *n);

/* ARGS: u64 instance, then per parameter a u32 length and the text, or FT_ARG_INT | 8 and
 * an int64. Keys are the definition's parameter names. */
int ft_values_args(struct ft_buf *scratch, struct ft_call *n, const uint8_t *p, size_t len);

/* ARGS_INTS: one int64 per parameter; no instance. Inline: a call's ints are kept as
 * numbers (most calls); the rest is ft_values_args_ints_text. */
int ft_values_args_ints_text(struct ft_buf *scratch, struct ft_call *n, const uint8_t *p,
                             size_t len);

static inline int
ft_values_args_ints(struct ft_buf *scratch, struct ft_call *n, const uint8_t *p, size_t len)
{
    if (len % 8 != 0 || len == 0 || len / 8 > FT_CALL_INTS || len / 8 > n->code->nparams ||
        n->args.p != NULL) {
        return ft_values_args_ints_text(scratch, n, p, len);
    }
    n->instance = 0;
    for (size_t i = 0; i < len / 8; i++) { /* word by word: a copy of a variable length is a call */
        memcpy(&n->ints[i], p + 8 * i, 8);
    }
    n->nints = (uint8_t)(len / 8);
    return 0;
}

/* RESULT (text; json: RESULT_JSON) and RESULT_INT (an int64). */
int ft_values_result(struct ft_buf *scratch, struct ft_call *n, const uint8_t *p, size_t len,
                     int json);
static inline int
ft_values_result_int(struct ft_call *n, const uint8_t *p, size_t len)
{
    if (len != 8) {
        return FT_EBADRECORD;
    }
    memcpy(&n->result_int, p, 8);
    n->has_result_int = 1;
    if (n->result.p != NULL) {
        ft_values_drop(&n->result);
    }
    return 0;
}

/* ARGS_AFTER: u32 index, u32 length, text per argument; kept where it differs from the
 * text at the call. */
int ft_values_after(struct ft_buf *scratch, struct ft_call *n, const uint8_t *p, size_t len);

/* EXC: type, module and message, each u32-length-prefixed, rendered into scratch as
 * {"type":..,"module":..,"message":..} (its first *exc_len bytes), followed by its
 * optional fields (enum ft_exc_field) as members of the call, each after a comma:
 * ,"cause":[{"type","module","message","file","line","via":"cause"|"context"},...]
 * ,"raise":{"file":..,"line":N}. Unknown fields are skipped. Scratch is NUL-terminated. */
int ft_values_exc(struct ft_buf *scratch, size_t *exc_len, const uint8_t *p, size_t len);

/* LOCALS: u32 count, then per local a u32-length-prefixed name and a value as in ARGS,
 * into n's locals as {"name":"text",...}. */
int ft_values_locals(struct ft_buf *scratch, struct ft_call *n, const uint8_t *p, size_t len);

/* MEMORY: u64 rss, tracemalloc current and peak (UINT64_MAX: unknown) into slot. */
int ft_values_memory(struct ft_buf *scratch, struct ft_call *n, struct ft_text *slot,
                     const uint8_t *p, size_t len);

#endif
