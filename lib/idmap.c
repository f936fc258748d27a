/* idmap.c - open addressing with linear probing; deleted keys stay as tombstones. */
#include "idmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t
slot(const struct ft_idmap *m, uint64_t key)
{
    /* Frame addresses (aligned) and hand-off numbers (consecutive) alike: the high bits
     * of the product mix every bit of the key. */
    return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 32) & (m->cap - 1);
}

void *
ft_idmap_get(const struct ft_idmap *m, uint64_t key)
{
    if (m->cap == 0) {
        return NULL;
    }
    for (size_t i = slot(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            return m->vals[i];
        }
        if (m->keys[i] == 0) {
            return NULL;
        }
    }
}

int
ft_idmap_put(struct ft_idmap *m, uint64_t key, void *v)
{
    if ((m->n + 1) * 2 > m->cap) {
        struct ft_idmap nm = {0};
        nm.cap = m->cap ? m->cap * 2 : 64;
        nm.keys = calloc(nm.cap, sizeof(*nm.keys));
        nm.vals = calloc(nm.cap, sizeof(*nm.vals));
        if (nm.keys == NULL || nm.vals == NULL) {
            free(nm.keys);
            free(nm.vals);
            return -ENOMEM;
        }
        for (size_t i = 0; i < m->cap; i++) {
            if (m->keys[i] != 0 && m->vals[i] != NULL) {
                ft_idmap_put(&nm, m->keys[i], m->vals[i]);
            }
        }
        ft_idmap_free(m);
        *m = nm;
    }
    size_t i = slot(m, key);
    while (m->keys[i] != 0 && m->keys[i] != key) {
        i = (i + 1) & (m->cap - 1);
    }
    if (m->keys[i] == 0) {
        m->n++;
    }
    m->keys[i] = key;
    m->vals[i] = v;
    return 0;
}

void
ft_idmap_del(struct ft_idmap *m, uint64_t key)
{
    if (m->cap == 0) {
        return;
    }
    for (size_t i = slot(m, key);; i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == key) {
            m->vals[i] = NULL;
            return;
        }
        if (m->keys[i] == 0) {
            return;
        }
    }
}

void
ft_idmap_purge(struct ft_idmap *m, const void *v)
{
    for (size_t i = 0; i < m->cap; i++) {
        if (m->vals[i] == v) {
            m->vals[i] = NULL;
        }
    }
}

void
ft_idmap_free(struct ft_idmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}
