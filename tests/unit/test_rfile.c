/* test_rfile.c - a run's files read alike plain or zstd, whole or cut short; the tree so
 * far of a run still going; the state of a run from its files and its writer's lock. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/rfile.h"
#include "lib/sink.h"
#include "slurp.h"

static char dir[64];

static int
setup(void **state)
{
    (void)state;
    test_dir_make(dir, sizeof(dir), "rfile");
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    test_dir_remove(dir);
    return 0;
}

/* Everything ft_rfile gives for dir/name, NUL-terminated (the caller frees). */
static char *
read_all(const char *name)
{
    struct ft_rfile *f;
    struct ft_buf b;
    ssize_t n;

    assert_int_equal(ft_rfile_open(&f, dir, name), 0);
    ft_buf_init(&b);
    do {
        ft_buf_reserve(&b, 7); /* small reads: the decoder must keep its place */
        n = ft_rfile_read(f, b.p + b.len, 7);
        assert_true(n >= 0);
        b.len += (size_t)n;
    } while (n > 0);
    ft_rfile_close(f);
    ft_buf_putc(&b, '\0');
    return b.p;
}

static void
write_file(const char *name, const char *text, int level, int cut)
{
    char path[256];
    struct ft_sink s;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    assert_int_equal(ft_sink_open(&s, path, 1), 0);
    if (level != 0) {
        assert_int_equal(ft_sink_compress(&s, level), 0);
    }
    ft_buf_puts(&s.b, text);
    assert_int_equal(ft_sink_flush(&s), 0);
    ft_buf_puts(&s.b, "one more line\n");
    if (cut) {
        assert_int_equal(ft_sink_flush(&s), 0);
        close(s.fd); /* as a writer that died: the frame is never ended */
        s.fd = -1;
    }
    ft_sink_close(&s);
}

static void
plain_and_zstd_files_read_the_same(void **state)
{
    char *a, *b;

    (void)state;
    write_file("events.jsonl", "{\"event\":\"ENTER\"}\n", 0, 0);
    write_file("units.jsonl.zst", "{\"event\":\"ENTER\"}\n", 1, 0);
    a = read_all("events.jsonl");
    b = read_all("units.jsonl");
    assert_string_equal(a, "{\"event\":\"ENTER\"}\none more line\n");
    assert_string_equal(a, b);
    free(a);
    free(b);
    struct ft_rfile *f;
    assert_int_equal(ft_rfile_open(&f, dir, "missing.jsonl"), -ENOENT);
}

static void
a_zstd_file_cut_short_reads_up_to_its_last_flush(void **state)
{
    char *a;

    (void)state;
    write_file("cut.jsonl.zst", "line 1\nline 2\n", 3, 1);
    a = read_all("cut.jsonl");
    assert_string_equal(a, "line 1\nline 2\none more line\n");
    free(a);
}

static void
a_running_run_reads_as_its_tree_so_far(void **state)
{
    char path[256];
    char *tree;
    int fd;

    (void)state;
    /* The writer's .live and thread parts: main() done with one child, run() open with a
     * finished child and one whose head only is written. */
    write_file(".live.tmp", "{\"format\":3,\"run\":\"r\",\"start\":17", 0, 0);
    snprintf(path, sizeof(path), "%s/.live", dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(dprintf(fd, "{\"format\":3,\"run\":\"r\",\"start\":17\n2500 7 4\n"
                            "1 4242 \"MainThread\"\n2 4243 \"w [x]\"\n") > 0);
    close(fd);
    write_file(".thread-1.part.zst",
               "{\"id\":1,\"function\":\"main\",\"args\":{\"s\":\"'}]'\"},\"children\":["
               "{\"id\":2,\"children\":[],\"durationMicros\":1.000}],\"durationMicros\":2.000,"
               "\"memory\":{\"before\":{\"rss\":1},\"after\":null}},"
               "{\"id\":3,\"function\":\"run\",\"children\":[{\"id\":4,\"children\":[],"
               "\"durationMicros\":1.000},{\"id\":5,\"children\":[],\"durationMi",
               1, 1);
    tree = read_all("tree.json");
    assert_string_equal(
        tree,
        "{\"format\":3,\"run\":\"r\",\"start\":17,\"durationMicros\":2500.000,\"exitCode\":null,"
        "\"ended\":\"running\",\"tracer\":{\"events\":7,\"lost\":0,\"calls\":4},\"threads\":["
        "{\"name\":\"MainThread\",\"tid\":4242,\"calls\":["
        "{\"id\":1,\"function\":\"main\",\"args\":{\"s\":\"'}]'\"},\"children\":["
        "{\"id\":2,\"children\":[],\"durationMicros\":1.000}],\"durationMicros\":2.000,"
        "\"memory\":{\"before\":{\"rss\":1},\"after\":null}},"
        "{\"id\":3,\"function\":\"run\",\"children\":[{\"id\":4,\"children\":[],"
        "\"durationMicros\":1.000},{\"id\":5,\"children\":[]"
        ",\"incomplete\":\"running\"}],\"incomplete\":\"running\"}]},"
        "{\"name\":\"w [x]\",\"tid\":4243,\"calls\":[]}]}\n");
    free(tree);
}

static void
a_run_is_running_while_its_writer_holds_the_lock(void **state)
{
    char path[256];
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "%s/events.jsonl", dir);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_int_equal(ft_rfile_state(dir), FT_RUN_UNFINISHED);
    /* Another open file description holds it, as the writer's does. */
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(ft_rfile_state(dir), FT_RUN_RUNNING);
    close(fd);
    assert_int_equal(ft_rfile_state(dir), FT_RUN_UNFINISHED);
    write_file("tree.json.zst", "{}", 1, 0);
    assert_int_equal(ft_rfile_state(dir), FT_RUN_COMPLETE);
}

/* The writer locks the run's directory from its creation on (runfiles.h): running with
 * no file in it yet. */
static void
a_run_is_running_while_its_writer_holds_its_directorys_lock(void **state)
{
    char run[128], tree[160];
    int fd;

    (void)state;
    snprintf(run, sizeof(run), "%s/going", dir);
    assert_int_equal(mkdir(run, 0700), 0);
    fd = open(run, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    assert_int_equal(ft_rfile_state(run), FT_RUN_UNFINISHED);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(ft_rfile_state(run), FT_RUN_RUNNING);
    snprintf(tree, sizeof(tree), "%s/tree.json", run);
    close(open(tree, O_WRONLY | O_CREAT, 0600));
    assert_int_equal(ft_rfile_state(run), FT_RUN_COMPLETE);
    close(fd);
    unlink(tree);
    assert_int_equal(rmdir(run), 0);
}

/* A writer that died after .live and before a record: nothing to rebuild from, said so;
 * once something was written (an event line, a journal), unfinished as before. */
static void
a_run_with_its_head_alone_and_no_writer_recorded_nothing(void **state)
{
    char run[128], path[200];
    int fd;

    (void)state;
    snprintf(run, sizeof(run), "%s/dead", dir);
    assert_int_equal(mkdir(run, 0700), 0);
    snprintf(path, sizeof(path), "%s/.live", run);
    close(open(path, O_WRONLY | O_CREAT, 0600));
    assert_int_equal(ft_rfile_state(run), FT_RUN_NOTHING);
    fd = open(run, O_RDONLY | O_DIRECTORY);
    assert_int_equal(flock(fd, LOCK_EX), 0); /* its writer still holds it: going */
    assert_int_equal(ft_rfile_state(run), FT_RUN_RUNNING);
    close(fd);
    snprintf(path, sizeof(path), "%s/events.jsonl", run);
    close(open(path, O_WRONLY | O_CREAT, 0600));
    snprintf(path, sizeof(path), "%s/raw.ftb", run);
    fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_int_equal(ft_rfile_state(run), FT_RUN_NOTHING); /* both empty */
    assert_int_equal(write(fd, "F", 1), 1);
    close(fd);
    assert_int_equal(ft_rfile_state(run), FT_RUN_UNFINISHED); /* --recover reads the spool */
    unlink(path);
    snprintf(path, sizeof(path), "%s/events.jsonl", run);
    unlink(path);
    snprintf(path, sizeof(path), "%s/.live", run);
    unlink(path);
    assert_int_equal(rmdir(run), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_and_zstd_files_read_the_same),
        cmocka_unit_test(a_zstd_file_cut_short_reads_up_to_its_last_flush),
        cmocka_unit_test(a_running_run_reads_as_its_tree_so_far),
        cmocka_unit_test(a_run_is_running_while_its_writer_holds_the_lock),
        cmocka_unit_test(a_run_is_running_while_its_writer_holds_its_directorys_lock),
        cmocka_unit_test(a_run_with_its_head_alone_and_no_writer_recorded_nothing),
    };
    return cmocka_run_group_tests_name("rfile", tests, setup, teardown);
}
