/* test_tstate.c - per-thread buffers and emitting: records in order, full buffers handed
 * to shipping, losses counted and marked, oversized records on their own, the hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "inject/config.h"
#include "inject/emit.h"
#include "inject/tstate.h"

/* What the hooks saw: every shipped byte range decoded into records, in order. */
static struct {
    struct ft_rec recs[4096];
    uint8_t store[1 << 20];
    size_t store_len;
    int n, full_calls, big_calls, now_calls, ends, connects, started;
    uint64_t started_events; /* the new thread's events when thread_started ran */
    uint64_t drop_next;      /* ship_full reports this many events lost, once */
    int connect_result;
} seen;

static void
keep(const uint8_t *p, size_t n)
{
    struct ft_rec r;
    size_t pos = 0;
    uint8_t *copy = seen.store + seen.store_len;

    memcpy(copy, p, n);
    seen.store_len += n;
    while (ft_rec_next(copy, n, &pos, &r) == 1) {
        seen.recs[seen.n++] = r;
    }
    assert_int_equal(pos, n);
}

static uint64_t
count_events(const uint8_t *p, size_t n)
{
    struct ft_rec r;
    size_t pos = 0;
    uint64_t c = 0;

    while (ft_rec_next(p, n, &pos, &r) == 1) {
        c += ft_rec_is_event(r.kind);
    }
    return c;
}

static uint64_t
ship_full(struct ft_thread *t)
{
    uint64_t lost = 0;

    seen.full_calls++;
    if (seen.drop_next) {
        lost = count_events(t->data + t->sent, ft_thread_committed(t) - t->sent);
        seen.drop_next = 0;
    } else {
        keep(t->data + t->sent, ft_thread_committed(t) - t->sent);
    }
    t->sent = 0;
    ft_thread_uncommit(t);
    return lost;
}

static void
ship_big(struct ft_thread *t, const void *data, size_t len, int event)
{
    seen.big_calls++;
    keep(t->data + t->sent, ft_thread_committed(t) - t->sent);
    t->sent = 0;
    ft_thread_uncommit(t);
    t->pos = t->data;
    keep(data, len);
    if (event) {
        t->events++;
    }
}

static void
ship_now(struct ft_thread *t)
{
    seen.now_calls++;
    keep(t->data + t->sent, ft_thread_committed(t) - t->sent);
    t->sent = ft_thread_committed(t);
}

static void
thread_end(struct ft_thread *t)
{
    (void)t;
    seen.ends++;
}

static int
child_connect(void)
{
    seen.connects++;
    return seen.connect_result;
}

static void
thread_started(void)
{
    seen.started++;
    seen.started_events = ft_self != NULL ? ft_self->events : UINT64_MAX;
}

static const struct ft_tstate_hooks hooks = {ship_full,  ship_big,      ship_now,
                                             thread_end, child_connect, thread_started};

static struct ft_thread *t;

static int
setup_all(void **state)
{
    (void)state;
    ft_cfg.buffer_size = 4096;
    ft_cfg.clock = FT_CLOCK_MONOTONIC;
    ft_cfg.drop = 1; /* buffers keep their size (no growth): the counts below are exact */
    assert_int_equal(ft_tstate_init(&hooks), 0);
    t = ft_thread_register("MainThread");
    assert_non_null(t);
    assert_ptr_equal(ft_self, t);
    return 0;
}

static int
setup(void **state)
{
    (void)state;
    memset(&seen, 0, sizeof(seen));
    return 0;
}

/* Ships what is committed (as the flusher would) and decodes it. */
static void
flush(void)
{
    keep(t->data + t->sent, ft_thread_committed(t) - t->sent);
    t->sent = ft_thread_committed(t);
}

static void
events_are_committed_in_order_with_their_values(void **state)
{
    uint64_t before = ft_tstate_events();

    (void)state;
    ft_emit(t, ft_rec_word0(FT_REC_CALL, 7), 100);
    ft_emit_with(t, ft_rec_word0(FT_REC_RETURN, 7), 0, 0, FT_REC_RESULT, "'ok'", 4);
    ft_emit_values(t, FT_REC_EXC, "abc", 3);
    ft_emit_with(t, ft_rec_word0(FT_REC_START, 8), 1, 0xfeed, 0, NULL, 0);
    flush();
    assert_int_equal(seen.n, 5);
    assert_int_equal(seen.recs[0].kind, FT_REC_CALL);
    assert_int_equal(seen.recs[0].payload, 7);
    assert_int_equal(seen.recs[0].ticks, 100);
    assert_int_equal(seen.recs[1].kind, FT_REC_RETURN);
    assert_int_equal(seen.recs[2].kind, FT_REC_RESULT);
    assert_memory_equal(seen.recs[2].data, "'ok'", 4);
    assert_int_equal(seen.recs[3].kind, FT_REC_EXC);
    assert_int_equal(seen.recs[4].kind, FT_REC_START);
    assert_int_equal(seen.recs[4].extra, 0xfeed);
    assert_int_equal(ft_tstate_events() - before, 3); /* value records are not events */
}

static void
a_full_buffer_goes_to_ship_full_and_recording_goes_on(void **state)
{
    (void)state;
    flush();
    memset(&seen, 0, sizeof(seen));
    for (int i = 0; i < 1000; i++) { /* 16 KB of records: several buffers */
        ft_emit(t, ft_rec_word0(FT_REC_CALL, (uint64_t)i), (uint64_t)i);
    }
    flush();
    assert_true(seen.full_calls >= 3);
    assert_int_equal(seen.n, 1000);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(seen.recs[i].payload, (uint64_t)i);
    }
}

static void
events_that_could_not_be_shipped_are_counted_and_a_gap_marks_them(void **state)
{
    uint64_t lost0 = ft_tstate_lost();
    int gap_at = -1;

    (void)state;
    flush();
    memset(&seen, 0, sizeof(seen));
    seen.drop_next = 1;
    for (int i = 0; i < 600; i++) {
        ft_emit(t, ft_rec_word0(FT_REC_CALL, 1), (uint64_t)i);
    }
    flush();
    for (int i = 0; i < seen.n; i++) {
        if (seen.recs[i].kind == FT_REC_GAP) {
            gap_at = i;
            assert_int_equal(seen.recs[i].payload, ft_tstate_lost() - lost0);
        }
    }
    assert_int_equal(gap_at, 0); /* first in the buffer after the lost one */
    assert_true(ft_tstate_lost() - lost0 > 0);
    /* Every event is either shipped or counted lost. */
    assert_int_equal((uint64_t)(seen.n - 1) + (ft_tstate_lost() - lost0), 600);
}

static void
a_record_bigger_than_half_a_buffer_travels_on_its_own_after_what_precedes_it(void **state)
{
    static char big[3000];

    (void)state;
    flush();
    memset(&seen, 0, sizeof(seen));
    memset(big, 'x', sizeof(big));
    ft_emit(t, ft_rec_word0(FT_REC_CALL, 3), 1);
    ft_emit_with(t, ft_rec_word0(FT_REC_RETURN, 3), 0, 0, FT_REC_RESULT, big, sizeof(big));
    ft_emit_values(t, FT_REC_ARGS_AFTER, big, sizeof(big));
    ft_emit(t, ft_rec_word0(FT_REC_CALL, 4), 2);
    flush();
    assert_int_equal(seen.big_calls, 2);
    assert_int_equal(seen.n, 5);
    assert_int_equal(seen.recs[0].kind, FT_REC_CALL);
    assert_int_equal(seen.recs[1].kind, FT_REC_RETURN);
    assert_int_equal(seen.recs[2].kind, FT_REC_RESULT);
    assert_int_equal(seen.recs[2].payload, sizeof(big));
    assert_int_equal(seen.recs[3].kind, FT_REC_ARGS_AFTER);
    assert_int_equal(seen.recs[4].kind, FT_REC_CALL);
    assert_int_equal(seen.recs[4].payload, 4);
}

static void
flush_every_call_ships_after_each_event(void **state)
{
    (void)state;
    flush();
    memset(&seen, 0, sizeof(seen));
    ft_cfg.flush_every_call = 1;
    ft_emit(t, ft_rec_word0(FT_REC_CALL, 5), 1);
    ft_emit_done(t);
    ft_cfg.flush_every_call = 0;
    ft_emit_done(t);
    assert_int_equal(seen.now_calls, 1);
    assert_int_equal(seen.n, 1);
}

static void
after_detach_every_record_is_counted_lost(void **state)
{
    uint64_t lost0 = ft_tstate_lost();

    (void)state;
    flush();
    ft_tstate_detach();
    assert_true(ft_tstate_detached());
    for (int i = 0; i < 2000; i++) {
        ft_emit(t, ft_rec_word0(FT_REC_CALL, 1), 1);
    }
    assert_true(ft_tstate_lost() - lost0 > 1000);
}

static void
a_forked_child_connects_on_its_first_record(void **state)
{
    (void)state;
    ft_tstate_atfork_child();
    assert_true(ft_tstate_fork_pending());
    assert_int_equal(ft_tstate_detached(), 0);
    seen.connect_result = 0;
    ft_emit(t, ft_rec_word0(FT_REC_CALL, 1), 1);
    assert_int_equal(seen.connects, 1);
    assert_false(ft_tstate_fork_pending());
    assert_int_equal(ft_tstate_events(), 1); /* the child's own count starts over */
    /* A child that cannot connect stays untraced. */
    ft_tstate_atfork_child();
    seen.connect_result = -1;
    ft_emit(t, ft_rec_word0(FT_REC_CALL, 1), 1);
    assert_true(ft_tstate_detached());
    assert_int_equal(ft_tstate_lost(), 1);
}

static void *
thread_main(void *arg)
{
    (void)arg;
    assert_non_null(ft_thread_register("worker"));
    ft_emit(ft_self, ft_rec_word0(FT_REC_CALL, 9), 1);
    return NULL;
}

/* A thread is told started once, registered (ft_self is its state) and before it has
 * recorded anything: what it checks there holds for all its records. */
static void
a_new_thread_is_told_started_before_it_records(void **state)
{
    pthread_t th;

    (void)state;
    assert_int_equal(pthread_create(&th, NULL, thread_main, NULL), 0);
    pthread_join(th, NULL);
    assert_int_equal(seen.started, 1);
    assert_int_equal(seen.started_events, 0);
}

static void
an_ending_thread_calls_thread_end_and_its_counts_stay(void **state)
{
    pthread_t th;
    uint64_t before = ft_tstate_events();

    (void)state;
    assert_int_equal(pthread_create(&th, NULL, thread_main, NULL), 0);
    pthread_join(th, NULL);
    assert_int_equal(seen.ends, 1);
    assert_int_equal(ft_tstate_events() - before, 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(events_are_committed_in_order_with_their_values, setup),
        cmocka_unit_test_setup(a_full_buffer_goes_to_ship_full_and_recording_goes_on, setup),
        cmocka_unit_test_setup(events_that_could_not_be_shipped_are_counted_and_a_gap_marks_them,
                               setup),
        cmocka_unit_test_setup(
            a_record_bigger_than_half_a_buffer_travels_on_its_own_after_what_precedes_it, setup),
        cmocka_unit_test_setup(flush_every_call_ships_after_each_event, setup),
        cmocka_unit_test_setup(an_ending_thread_calls_thread_end_and_its_counts_stay, setup),
        cmocka_unit_test_setup(a_new_thread_is_told_started_before_it_records, setup),
        cmocka_unit_test_setup(after_detach_every_record_is_counted_lost, setup),
        cmocka_unit_test_setup(a_forked_child_connects_on_its_first_record, setup),
    };
    return cmocka_run_group_tests_name("tstate", tests, setup_all, NULL);
}
