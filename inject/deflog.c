/* deflog.c - the definitions log (see deflog.h). */
#include "deflog.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define DEFS_CHUNK (1u << 20) /* bytes of definitions per DEFS frame, at most */

static struct {
    pthread_mutex_t lock;
    uint8_t *buf;
    size_t len, cap, sent;
    uint64_t next_id;
} defs = {PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0, 0};

static int
grow(size_t need)
{
    size_t cap = defs.cap ? defs.cap * 2 : 65536;
    uint8_t *nb;

    while (cap - defs.len < need) {
        cap *= 2;
    }
    nb = realloc(defs.buf, cap);
    if (nb == NULL) {
        return -ENOMEM;
    }
    defs.buf = nb;
    defs.cap = cap;
    return 0;
}

int
ft_deflog_define(struct ft_def_view *v)
{
    size_t need;
    int err = 0;

    v->module_len = v->module_len ? v->module_len : (uint32_t)strlen(v->module);
    v->name_len = v->name_len ? v->name_len : (uint32_t)strlen(v->name);
    v->file_len = v->file_len ? v->file_len : (uint32_t)strlen(v->file);
    need = ft_def_size(v->module_len, v->name_len, v->file_len, v->params_len);
    pthread_mutex_lock(&defs.lock);
    if (defs.cap - defs.len < need) {
        err = grow(need);
    }
    if (err == 0) {
        v->id = ++defs.next_id;
        err = ft_put_def(defs.buf, defs.cap, &defs.len, v);
    }
    pthread_mutex_unlock(&defs.lock);
    return err;
}

uint64_t
ft_deflog_define_cfunc(const char *module, const char *name)
{
    struct ft_def_view v;

    memset(&v, 0, sizeof(v));
    v.flags = FT_DEF_CFUNC;
    v.module = module;
    v.name = name;
    v.file = "<builtin>";
    return ft_deflog_define(&v) == 0 ? v.id : 0;
}

int
ft_deflog_send(int (*send)(const uint8_t *p, size_t n, void *arg), void *arg)
{
    int err = 0;

    pthread_mutex_lock(&defs.lock);
    while (defs.sent < defs.len) {
        size_t end = defs.sent, pos;
        struct ft_def_view v;
        /* Cut at entry boundaries so every frame holds whole definitions. */
        while (end < defs.len && end - defs.sent < DEFS_CHUNK) {
            pos = end;
            if (ft_def_next(defs.buf, defs.len, &pos, &v) != 1) {
                break;
            }
            end = pos;
        }
        if (end == defs.sent || (err = send(defs.buf + defs.sent, end - defs.sent, arg)) != 0) {
            break;
        }
        defs.sent = end;
    }
    pthread_mutex_unlock(&defs.lock);
    return err;
}

void
ft_deflog_atfork_child(void)
{
    pthread_mutex_init(&defs.lock, NULL);
    defs.sent = 0;
}

void
ft_deflog_resend(void)
{
    pthread_mutex_lock(&defs.lock);
    defs.sent = 0;
    pthread_mutex_unlock(&defs.lock);
}
