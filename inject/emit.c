/* emit.c - records too big for a thread's buffer (see emit.h). */
#include "emit.h"

#include <stdlib.h>

void
ft_emit_big(struct ft_thread *t, const uint64_t *words, size_t fixed, unsigned vkind,
            const void *data, size_t len)
{
    size_t total = fixed + (vkind ? 8 + FT_PAD8(len) : 0);
    uint8_t *big = malloc(total);
    uint64_t vw0 = ft_rec_word0(vkind, len);

    if (big == NULL) {
        if (fixed != 0) {
            __atomic_store_n(&t->lost, t->lost + 1, __ATOMIC_RELAXED);
            t->gap++;
        }
        return;
    }
    if (fixed != 0) {
        memcpy(big, words, fixed);
    }
    if (vkind) {
        memcpy(big + fixed, &vw0, 8);
        memcpy(big + fixed + 8, data, len);
        memset(big + fixed + 8 + len, 0, FT_PAD8(len) - len);
    }
    ft_thread_ship_big(t, big, total, fixed != 0 && ft_rec_is_event((unsigned)(words[0] & 0xff)));
    free(big);
}
