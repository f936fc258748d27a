/* test_procs.c - process identities: HELLO fields, /proc parsing, ancestry. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "stream.h"
#include "tools/writer/procs.h"

static void
hello_fields_are_read(void **state)
{
    struct stream s = {0};
    struct ft_wire_decoder d;
    struct ft_hello_id id;
    struct ft_frame f;
    uint8_t b[256];
    size_t pos = 0;

    (void)state;
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_PID, 4242);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_PPID, 4200);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_STARTTIME, 777);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_CHILDREN, 0);
    stream_frame(&s, FT_FRAME_HELLO, 0, b, pos);
    ft_wire_decoder_init(&d);
    ft_wire_decoder_feed(&d, s.p, s.len);
    assert_int_equal(ft_wire_next_frame(&d, &f), 1);
    ft_procs_hello(&f, &id);
    assert_int_equal(id.pid, 4242);
    assert_int_equal(id.ppid, 4200);
    assert_int_equal(id.starttime, 777);
    assert_int_equal(id.only_first, 1);
    ft_wire_decoder_close(&d);
    free(s.p);
}

static void
proc_stat_gives_parent_and_start_time(void **state)
{
    uint64_t ppid, st, st2;

    (void)state;
    assert_int_equal(ft_procs_stat((uint64_t)getpid(), &ppid, &st), 0);
    assert_int_equal(ppid, (uint64_t)getppid());
    assert_true(st > 0);
    assert_int_equal(ft_procs_stat((uint64_t)getpid(), &ppid, &st2), 0);
    assert_int_equal(st, st2);
    assert_int_equal(ft_procs_stat(999999999, &ppid, &st), -ENOENT);
}

static void
a_child_finds_its_traced_ancestor_and_a_stranger_does_not(void **state)
{
    uint64_t me = (uint64_t)getpid(), ppid, st, found = 0;
    pid_t child;
    int status;

    (void)state;
    assert_int_equal(ft_procs_stat(me, &ppid, &st), 0);
    /* Nothing traced yet: neither this process nor its child descends from one. */
    assert_null(ft_procs_traced_ancestor(me, st, &found));
    ft_procs_add(me, st + 1, "not-me"); /* same pid, other start time: a reused pid */
    assert_null(ft_procs_traced_ancestor(me, st, &found));
    ft_procs_add(me, st, "run-1");
    assert_string_equal(ft_procs_traced_ancestor(me, st, &found), "run-1"); /* after exec */
    assert_int_equal(found, me);
    child = fork();
    if (child == 0) {
        uint64_t cst, cpp, f = 0;
        const char *id;
        ft_procs_stat((uint64_t)getpid(), &cpp, &cst);
        id = ft_procs_traced_ancestor((uint64_t)getpid(), cst, &f);
        _exit(id != NULL && strcmp(id, "run-1") == 0 && f == me ? 0 : 1);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(WEXITSTATUS(status), 0);
    /* A hello whose start time does not match the live process is not believed. */
    assert_null(ft_procs_traced_ancestor(me, st + 5, &found));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hello_fields_are_read),
        cmocka_unit_test(proc_stat_gives_parent_and_start_time),
        cmocka_unit_test(a_child_finds_its_traced_ancestor_and_a_stranger_does_not),
    };
    return cmocka_run_group_tests_name("procs", tests, NULL, NULL);
}
