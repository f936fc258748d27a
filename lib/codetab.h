/* codetab.h - the writer's table of code definitions, indexed by code id.
 *
 * Each definition keeps its strings and a precomputed JSON fragment
 * ("module":..,"function":..,"file":..,"line":N) that every output line of a call of
 * that code reuses, so names are escaped once per code object, not once per event. Its
 * first name_len bytes ("module":..,"function":..) are what an EXIT line says (format 4).
 */
#ifndef FT_LIB_CODETAB_H
#define FT_LIB_CODETAB_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define FT_CODE_ID_MAX (1u << 26) /* ids above this are rejected as malformed */
/* The library numbers its definitions 1, 2, 3, ... (threads may send a few out of
 * order): an id further than this beyond the number defined so far is rejected, so the
 * table, indexed by id, stays proportional to what the stream defined. */
#define FT_CODE_ID_SLACK 4096u
#define FT_CODE_NODE_PAD 64 /* node_frag is copied in 64-byte steps */

struct ft_code {
    uint64_t id;
    uint32_t flags; /* FT_DEF_* */
    uint32_t line;
    char *module; /* NUL-terminated copies */
    char *name;   /* qualified name */
    char *file;
    char *frag; /* JSON fragment, not NUL-terminated */
    size_t frag_len;
    size_t name_len; /* its "module":..,"function":.. prefix */
    /* ,<frag>,"startMicros": : what a tree node says between its id and its start
     * (FT_CODE_NODE_PAD readable bytes past it). */
    char *node_frag;
    size_t node_frag_len;
    uint32_t nparams;
    char **keys; /* per captured parameter: its name as a JSON key, `"name":` */
    size_t *keylens;
    size_t keys_room; /* room for every parameter as a key and an int */
    char *args_head;  /* ,"args":{ and the first key (FT_TEXT_PAD readable past it), or NULL */
    size_t args_head_len;
    /* The text writer's cache (emit.c): the middle of this code's ENTER lines, then of
     * its EXIT lines (at line_frag + exit_frag_at), for the thread's name (line_key, its
     * name_key) and the destination it last wrote them for. Owned by the table. */
    char *line_frag;
    size_t line_frag_len, exit_frag_at, exit_frag_len;
    uint64_t line_key;
    const void *line_dest;
    uint64_t line_dest_id; /* line_dest's id: another destination may reuse its address */
};

struct ft_codetab {
    struct ft_code **v;
    size_t cap;
    size_t count;
};

void ft_codetab_init(struct ft_codetab *t);
void ft_codetab_free(struct ft_codetab *t);

/* Adds (or replaces) the definition. Returns 0, -ENOMEM, or FT_EBADFRAME for an id out
 * of range. The table owns copies of the strings. */
int ft_codetab_add(struct ft_codetab *t, const struct ft_def_view *d);

/* Borrowed pointer valid until the table is freed, or NULL if undefined. */
static inline const struct ft_code *
ft_codetab_get(const struct ft_codetab *t, uint64_t id)
{
    return id < t->cap ? t->v[id] : NULL;
}

#endif
