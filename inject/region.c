/* region.c - regions the program marks: see region.h. */
#include "region.h"

#include <errno.h>
#include <string.h>

#include "deflog.h"
#include "emit.h"
#include "units.h"

/* Region names seen so far and their definitions' ids (GIL held: no lock). Past the
 * table a name is defined again at each use (the definitions log grows by one entry). */
#define NAMES 64
static struct {
    char name[128];
    uint64_t id;
} names[NAMES];
static int nnames;

static uint64_t
id_of(const char *name)
{
    struct ft_def_view v;

    for (int i = 0; i < nnames; i++) {
        if (strncmp(names[i].name, name, sizeof(names[i].name) - 1) == 0) {
            return names[i].id;
        }
    }
    memset(&v, 0, sizeof(v));
    v.module = "flowtrace";
    v.name = name;
    v.name_len = (uint32_t)strnlen(name, 127);
    v.file = "<region>";
    if (ft_deflog_define(&v) != 0) {
        return 0;
    }
    if (nnames < NAMES) {
        strncpy(names[nnames].name, name, sizeof(names[nnames].name) - 1);
        names[nnames++].id = v.id;
    }
    return v.id;
}

int
ft_region_begin(struct ft_thread *t, const char *name, uint64_t ident, int resumed)
{
    uint64_t id;

    if (t->region >= FT_REGION_DEPTH) {
        t->region++;
        return -E2BIG;
    }
    if ((id = id_of(name != NULL && *name ? name : "region")) == 0) {
        return -ENOMEM;
    }
    t->region_id[t->region++] = id;
    if (ident == 0) {
        ft_emit(t, ft_rec_word0(FT_REC_CALL, id), ft_clock_ticks(ft_cfg.clock));
    } else {
        ft_emit_with(t, ft_rec_word0(resumed ? FT_REC_RESUME : FT_REC_START, id), 1, ident, 0, NULL,
                     0);
    }
    if (!resumed) {
        ft_unit_region(t, name != NULL && *name ? name : "region");
    }
    return 0;
}

int
ft_region_end(struct ft_thread *t, int suspended)
{
    if (t->region == 0) {
        return -EINVAL;
    }
    if (--t->region < FT_REGION_DEPTH) {
        ft_emit(t, ft_rec_word0(suspended ? FT_REC_YIELD : FT_REC_RETURN, t->region_id[t->region]),
                ft_clock_ticks(ft_cfg.clock));
    }
    return 0;
}
