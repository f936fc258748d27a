/* emit.h - writing records into the calling thread's buffer.
 *
 * An event is a fixed record (word0, ticks[, extra]); the values it carries (arguments,
 * a result, an exception) follow as a variable record written and committed with it, so
 * that both are always shipped together. A value record may also follow an event already
 * written (ft_emit_values). A record bigger than half a buffer travels as a frame of its
 * own (ft_thread_ship_big). Everything here is the hot path or next to it: no lock, no
 * Python, and no allocation but for the rare oversized record. Any thread, its own
 * buffer only.
 */
#ifndef FT_INJECT_EMIT_H
#define FT_INJECT_EMIT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "config.h"
#include "lib/clock.h"
#include "lib/wire.h"
#include "tstate.h"

#define FT_PAD8(n) (((n) + 7u) & ~(size_t)7u)

/* Hot path: appends a two-word event record (word0, ticks). */
static inline void
ft_emit(struct ft_thread *t, uint64_t w0, uint64_t ticks)
{
    uint8_t *p = ft_thread_reserve_event(t, 16);

    if (p == NULL) {
        return;
    }
    memcpy(p, &w0, 8);
    memcpy(p + 8, &ticks, 8);
    ft_thread_commit(t, p + 16);
}

/* Copies len bytes to p and zeroes the padding up to FT_PAD8(len): one 8-byte store,
 * written first and partly overwritten, instead of a memset call of a few bytes. */
static inline void
ft_put_padded(uint8_t *p, const void *data, size_t len)
{
    if (len > 0) {
        uint64_t zero = 0;
        memcpy(p + FT_PAD8(len) - 8, &zero, 8);
        if (len == 8) {
            memcpy(p, data, 8); /* an int (RESULT_INT): a store, not a call */
        } else {
            memcpy(p, data, len);
        }
    }
}

/* The rare path of ft_emit_with and ft_emit_values: a record too big for a buffer,
 * assembled in memory of its own and shipped as a frame. fixed is 0, 16 or 24 bytes of
 * words (0: a value record alone). */
void ft_emit_big(struct ft_thread *t, const uint64_t *words, size_t fixed, unsigned vkind,
                 const void *data, size_t len);

/* An event record (word0, ticks[, extra when has_extra]) followed, when vkind is not 0,
 * by a value record of vkind carrying data. Counted as an event when word0's kind is
 * one (ft_rec_is_event). */
static inline void
ft_emit_with(struct ft_thread *t, uint64_t w0, int has_extra, uint64_t extra, unsigned vkind,
             const void *data, size_t len)
{
    uint64_t words[3] = {w0, ft_clock_ticks(ft_cfg.clock), extra};
    size_t fixed = has_extra ? 24 : 16;
    size_t total = fixed + (vkind ? 8 + FT_PAD8(len) : 0);
    uint8_t *p;

    if (__builtin_expect(total > ft_cfg.buffer_size / 2, 0)) {
        ft_emit_big(t, words, fixed, vkind, data, len);
        return;
    }
    p = ft_thread_reserve_event(t, total);
    if (p == NULL) {
        return;
    }
    memcpy(p, words, 16); /* constant sizes: stores, not a call */
    if (has_extra) {
        memcpy(p + 16, &extra, 8);
    }
    if (vkind) {
        uint64_t vw0 = ft_rec_word0(vkind, len);
        memcpy(p + fixed, &vw0, 8);
        ft_put_padded(p + fixed + 8, data, len);
    }
    if (ft_rec_is_event((unsigned)(w0 & 0xff))) {
        ft_thread_commit(t, p + total);
    } else {
        ft_thread_publish(t, p + total);
    }
}

/* A value record of vkind on its own, attached by the writer to what precedes it. */
static inline void
ft_emit_values(struct ft_thread *t, unsigned vkind, const void *data, size_t len)
{
    size_t total = 8 + FT_PAD8(len);
    uint64_t vw0;
    uint8_t *p;

    if (__builtin_expect(total > ft_cfg.buffer_size / 2, 0)) {
        ft_emit_big(t, NULL, 0, vkind, data, len);
        return;
    }
    p = ft_thread_reserve(t, total);
    if (p == NULL) {
        return;
    }
    vw0 = ft_rec_word0(vkind, len);
    memcpy(p, &vw0, 8);
    ft_put_padded(p + 8, data, len);
    ft_thread_publish(t, p + total); /* not an event: not counted */
}

/* After an event and its values: ships at once with --flush-every-call. */
static inline void
ft_emit_done(struct ft_thread *t)
{
    if (__builtin_expect(ft_cfg.flush_every_call, 0)) {
        ft_thread_ship_now(t);
    }
}

#endif
