/* slurp.h - the files of runs, for unit tests (include after cmocka.h).
 *
 * slurp(dir, run, name) returns DIR/RUN/NAME's bytes, NUL-terminated, malloc'd (the
 * caller frees), or NULL if the file does not exist; slurp_must() fails the test then.
 * tree_unpad(tree) takes out the spaces a tree made in place has before "threads".
 * test_dir_make(dir, cap, tag) creates a fresh /tmp/ft-test-TAG.XXXXXX into dir;
 * test_dir_remove(dir) removes it (or, with KEEP set, prints it and leaves it).
 * test_run_stream(dir, run_id, s, how) feeds a built stream (stream.h) through a run as
 * the writer does, every frame accepted, and finishes it (how: the end when no END frame
 * came); the stream is freed. test_run_stream_opts does the same with options of one's own.
 */
#ifndef FT_TESTS_SLURP_H
#define FT_TESTS_SLURP_H

#include <stdio.h>
#include <stdlib.h>

#include "lib/run.h"
#include "stream.h"

static inline char *
slurp(const char *dir, const char *run, const char *name)
{
    char path[256];
    FILE *f;
    char *buf;
    long n;

    snprintf(path, sizeof(path), "%s/%s/%s", dir, run, name);
    f = fopen(path, "r");
    if (f == NULL) {
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = calloc(1, (size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    return buf;
}

/* tree.json without the spaces a run may pad its head with, before "threads" (runfiles.h:
 * the tree made in place). Returns how many there were. */
static inline size_t
tree_unpad(char *tree)
{
    char *key = strstr(tree, "\"threads\":[");
    char *p = key;

    while (p != NULL && p > tree && p[-1] == ' ') {
        p--;
    }
    if (p == NULL || p == key) {
        return 0;
    }
    memmove(p, key, strlen(key) + 1);
    return (size_t)(key - p);
}

static inline char *
slurp_must(const char *dir, const char *run, const char *name)
{
    char *text = slurp(dir, run, name);

    assert_non_null(text);
    return text;
}

static inline void
test_dir_make(char *dir, size_t cap, const char *tag)
{
    snprintf(dir, cap, "/tmp/ft-test-%s.XXXXXX", tag);
    assert_non_null(mkdtemp(dir));
}

static inline void
test_dir_remove(const char *dir)
{
    char cmd[4200];

    snprintf(cmd, sizeof(cmd), "%s '%s'", getenv("KEEP") ? "echo" : "rm -rf", dir);
    assert_int_equal(system(cmd), 0);
}

static inline void
test_run_stream_opts(const struct ft_run_opts *o, struct stream *s, int how)
{
    struct ft_run *r = ft_run_new(o);
    struct ft_wire_decoder d;
    struct ft_frame f;

    ft_wire_decoder_init(&d);
    ft_wire_decoder_feed(&d, s->p, s->len);
    while (ft_wire_next_frame(&d, &f) == 1) {
        assert_int_equal(ft_run_frame(r, &f), 0);
    }
    assert_int_equal(ft_run_finish(r, how, NULL), 0);
    ft_run_free(r);
    ft_wire_decoder_close(&d);
    free(s->p);
}

static inline void
test_run_stream(const char *dir, const char *run_id, struct stream *s, int how)
{
    struct ft_run_opts o = {.dir = dir, .run_id = run_id, .tsc_ns_per_tick = 1.0, .copies = 0};

    test_run_stream_opts(&o, s, how);
}

#endif
