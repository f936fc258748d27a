/* idmap.h - an open-addressing map from a nonzero 64-bit identity (a frame's address)
 * to a pointer, for the call tree's generators and spawned coroutines.
 *
 * Keys are never removed, only emptied (tombstones keep probes going), so the table
 * grows with the distinct identities seen; CPython reuses frame addresses, which keeps
 * that small. The map owns its arrays, not the values.
 */
#ifndef FT_LIB_IDMAP_H
#define FT_LIB_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct ft_idmap {
    uint64_t *keys;
    void **vals;
    size_t cap, n;
};

/* The value for key, or NULL. */
void *ft_idmap_get(const struct ft_idmap *m, uint64_t key);

/* Sets key's value (key != 0). Returns 0 or -ENOMEM. */
int ft_idmap_put(struct ft_idmap *m, uint64_t key, void *v);

/* Empties key's slot. */
void ft_idmap_del(struct ft_idmap *m, uint64_t key);

/* Empties every slot holding v. */
void ft_idmap_purge(struct ft_idmap *m, const void *v);

void ft_idmap_free(struct ft_idmap *m);

#endif
