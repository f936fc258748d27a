/* test_sink.c - buffered files: sticky errors, and never part of a flush on disk. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/sink.h"

static void
full_device_gives_enospc_and_counts_dropped_bytes(void **state)
{
    struct ft_sink s;

    (void)state;
    assert_int_equal(ft_sink_open(&s, "/dev/full", 1), 0);
    ft_buf_puts(&s.b, "0123456789\n");
    assert_int_equal(ft_sink_flush(&s), -ENOSPC);
    ft_buf_puts(&s.b, "abc\n");
    assert_int_equal(ft_sink_flush(&s), -ENOSPC); /* sticky */
    assert_int_equal(s.dropped, 15);
    assert_int_equal(s.written, 0);
    assert_int_equal(ft_sink_close(&s), -ENOSPC);
}

static void
a_flush_cut_short_is_removed_and_the_mark_stays_at_the_last_good_flush(void **state)
{
    char path[] = "/tmp/ft-test-sink.XXXXXX";
    struct rlimit old, lim = {1000, 1000};
    struct ft_sink s;
    struct stat st;
    uint64_t counter = 0;
    char line[601];
    int fd = mkstemp(path);

    (void)state;
    assert_true(fd >= 0);
    close(fd);
    memset(line, 'x', 599);
    line[599] = '\n';
    line[600] = '\0';
    /* A file size limit cuts a write short exactly as a full disk does. */
    signal(SIGXFSZ, SIG_IGN);
    getrlimit(RLIMIT_FSIZE, &old);
    assert_int_equal(ft_sink_open(&s, path, 1), 0);
    s.mark_src = &counter;
    setrlimit(RLIMIT_FSIZE, &lim);
    counter = 1;
    ft_buf_puts(&s.b, line);
    assert_int_equal(ft_sink_flush(&s), 0);
    counter = 2;
    ft_buf_puts(&s.b, line); /* 400 of these 600 bytes fit */
    assert_int_equal(ft_sink_flush(&s), -EFBIG);
    setrlimit(RLIMIT_FSIZE, &old);
    assert_int_equal(s.mark, 1);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 600);
    ft_sink_close(&s);
    unlink(path);
}

/* A lazy sink makes its file (and the directory it goes in) only when it writes out: one
 * discarded before that leaves nothing, one discarded after removes its file. */
static void
a_lazy_sink_writes_its_file_only_when_it_must(void **state)
{
    char dir[] = "/tmp/ft-test-lazy.XXXXXX", path[128], sub[128];
    struct ft_sink s;
    struct stat st;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/units", dir);
    snprintf(path, sizeof(path), "%s/units/f", dir);
    assert_int_equal(ft_sink_open_lazy(&s, path), 0);
    ft_buf_puts(&s.b, "kept in memory\n");
    ft_sink_maybe_flush(&s);
    ft_sink_discard(&s);
    assert_int_equal(stat(sub, &st), -1); /* not even the directory */
    assert_int_equal(ft_sink_open_lazy(&s, path), 0);
    ft_buf_puts(&s.b, "out\n");
    assert_int_equal(ft_sink_flush(&s), 0); /* now it is created, directory and all */
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 4);
    assert_int_equal(st.st_mode & 0777, 0600);
    ft_sink_discard(&s);
    assert_int_equal(stat(path, &st), -1);
    assert_int_equal(ft_sink_open_lazy(&s, path), 0);
    assert_int_equal(ft_sink_close(&s), 0); /* closed empty: an empty file */
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 0);
    assert_int_equal(stat(sub, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    unlink(path);
    rmdir(sub);
    assert_int_equal(rmdir(dir), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(full_device_gives_enospc_and_counts_dropped_bytes),
        cmocka_unit_test(a_flush_cut_short_is_removed_and_the_mark_stays_at_the_last_good_flush),
        cmocka_unit_test(a_lazy_sink_writes_its_file_only_when_it_must),
    };
    return cmocka_run_group_tests_name("sink", tests, NULL, NULL);
}
