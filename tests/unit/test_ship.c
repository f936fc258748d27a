/* test_ship.c - the connection to the writer, over a socketpair: what goes out in which
 * order, and what happens when the writer is gone or says it stopped. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inject/config.h"
#include "inject/deflog.h"
#include "inject/emit.h"
#include "inject/ship.h"
#include "inject/tstate.h"

static int writer = -1; /* the writer's end of the socketpair */

/* Frames received by the writer's end. */
static struct {
    uint16_t type[256];
    uint32_t thread[256];
    uint64_t events[256]; /* event records in an EVENTS frame */
    int n;
} got;

static uint8_t rbuf[8 << 20];
static size_t rlen;

/* The GAP records and the records of code TRACKED received, in stream order. */
#define TRACKED 2
static struct {
    unsigned kind[64];
    int n;
} tracked;

/* An EVENTS frame's records: checked whole, the tracked ones noted. Returns its events. */
static uint64_t
read_events(const uint8_t *p, size_t len)
{
    struct ft_rec rec;
    size_t pos = 0;
    uint64_t events = 0;

    while (ft_rec_next(p, len, &pos, &rec) == 1) {
        events += ft_rec_is_event(rec.kind);
        if ((rec.kind == FT_REC_GAP || rec.payload == TRACKED) && tracked.n < 64) {
            tracked.kind[tracked.n++] = rec.kind;
        }
    }
    assert_int_equal(pos, len);
    return events;
}

static void
receive(void)
{
    struct ft_frame_hdr h;
    ssize_t r;

    while ((r = recv(writer, rbuf + rlen, sizeof(rbuf) - rlen, MSG_DONTWAIT)) > 0) {
        rlen += (size_t)r;
    }
    while (rlen >= sizeof(h)) {
        memcpy(&h, rbuf, sizeof(h));
        assert_int_equal(h.magic, FT_WIRE_MAGIC);
        if (rlen < sizeof(h) + h.len) {
            break;
        }
        got.type[got.n] = h.type;
        got.thread[got.n] = h.thread;
        got.events[got.n] = 0;
        if (h.type == FT_FRAME_EVENTS) {
            got.events[got.n] = read_events(rbuf + sizeof(h), h.len);
        }
        got.n++;
        rlen -= sizeof(h) + h.len;
        memmove(rbuf, rbuf + sizeof(h) + h.len, rlen);
    }
}

static const struct ft_tstate_hooks hooks = {ft_ship_full,       ft_ship_big, ft_ship_now,
                                             ft_ship_thread_end, NULL,        NULL};

static int
setup_all(void **state)
{
    (void)state;
    ft_cfg.buffer_size = 4096;
    ft_cfg.clock = FT_CLOCK_MONOTONIC;
    ft_cfg.wait_ns = 200000000; /* 0.2 s */
    return ft_tstate_init(&hooks);
}

/* A fresh connection for each test. */
static int
setup(void **state)
{
    int sv[2];

    (void)state;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    writer = sv[1];
    ft_tstate_restart(); /* recording again, counts from 0 */
    ft_ship_open(sv[0]);
    memset(&got, 0, sizeof(got));
    memset(&tracked, 0, sizeof(tracked));
    rlen = 0;
    if (ft_self == NULL) {
        assert_non_null(ft_thread_register("MainThread"));
    }
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    ft_ship_close();
    close(writer);
    return 0;
}

static uint64_t
define(const char *name)
{
    struct ft_def_view v;

    memset(&v, 0, sizeof(v));
    v.module = "app";
    v.name = name;
    v.file = "/src/app.py";
    assert_int_equal(ft_deflog_define(&v), 0);
    return v.id;
}

static void
a_thread_is_announced_and_definitions_go_before_the_events_that_use_them(void **state)
{
    uint64_t id = define("f");

    (void)state;
    for (int i = 0; i < 300; i++) { /* more than a buffer */
        ft_emit(ft_self, ft_rec_word0(FT_REC_CALL, id), (uint64_t)i);
    }
    receive();
    assert_true(got.n >= 3);
    assert_int_equal(got.type[0], FT_FRAME_THREAD);
    assert_int_equal(got.thread[0], ft_self->idx);
    assert_int_equal(got.type[1], FT_FRAME_DEFS);
    assert_int_equal(got.type[2], FT_FRAME_EVENTS);
    assert_int_equal(got.thread[2], ft_self->idx);
}

static void
ship_all_sends_a_clock_then_every_threads_committed_records(void **state)
{
    uint64_t sent = 0;

    (void)state;
    ft_emit(ft_self, ft_rec_word0(FT_REC_CALL, 1), 1);
    ft_emit(ft_self, ft_rec_word0(FT_REC_RETURN, 1), 2);
    ft_ship_lock();
    ft_ship_all();
    ft_ship_unlock();
    receive();
    assert_int_equal(got.type[0], FT_FRAME_CLOCK);
    for (int i = 0; i < got.n; i++) {
        sent += got.events[i];
    }
    assert_true(sent >= 2);
    /* Nothing new: nothing but a clock. */
    memset(&got, 0, sizeof(got));
    ft_ship_lock();
    ft_ship_all();
    ft_ship_unlock();
    receive();
    assert_int_equal(got.n, 1);
    assert_int_equal(got.type[0], FT_FRAME_CLOCK);
}

static void
when_the_writer_is_gone_recording_detaches_and_the_loss_is_counted(void **state)
{
    uint64_t lost0 = ft_tstate_lost() + ft_ship_lost_unsent();

    (void)state;
    close(writer);
    writer = -1;
    for (int i = 0; i < 1000; i++) {
        ft_emit(ft_self, ft_rec_word0(FT_REC_CALL, 1), (uint64_t)i);
    }
    assert_true(ft_ship_broken());
    assert_true(ft_tstate_detached());
    assert_false(ft_ship_usable());
    /* The end ships what is committed: what is still in the buffer is counted then. */
    ft_ship_lock();
    ft_ship_all();
    ft_ship_unlock();
    /* The 1000 events: none left the process, all counted. */
    assert_int_equal(ft_tstate_lost() + ft_ship_lost_unsent() - lost0, 1000);
    writer = open("/dev/null", O_RDONLY); /* for teardown */
}

/* Reads everything the writer's end holds until the process's end is sent, from another
 * thread (the test's own thread sends). */
static void *
reader_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 400; i++) { /* up to 4 s */
        receive();
        usleep(10000);
    }
    return NULL;
}

static uint64_t
received_events(void)
{
    uint64_t n = 0;

    for (int i = 0; i < got.n; i++) {
        n += got.events[i];
    }
    return n;
}

/* The writer reads again; the end sends what is in flight (then END could go). */
static void
end_with_the_writer_reading(void)
{
    pthread_t reader;

    assert_int_equal(pthread_create(&reader, NULL, reader_main, NULL), 0);
    ft_ship_lock();
    ft_ship_ending();
    ft_ship_all();
    assert_int_equal(ft_ship_settle(), 0);
    ft_ship_unlock();
    pthread_join(reader, NULL);
    receive();
}

/* Emits n call events as fast as the buffers take them. */
static void
emit_calls(int n)
{
    for (int i = 0; i < n; i++) {
        ft_emit(ft_self, ft_rec_word0(FT_REC_CALL, 1), (uint64_t)i);
    }
}

static void
a_stalled_writer_detaches_recording_and_the_end_counts_every_loss(void **state)
{
    uint64_t ev0 = ft_tstate_events(), lost0 = ft_tstate_lost() + ft_ship_lost_unsent();
    int n = 60000; /* about a megabyte of records: more than the socket holds */

    (void)state;
    ft_cfg.wait_ns = 100000000; /* 0.1 s */
    emit_calls(n);              /* nobody reads: the socket fills, the writer has stalled */
    assert_true(ft_tstate_detached());
    assert_false(ft_ship_broken()); /* the connection stays */
    end_with_the_writer_reading();
    /* Every frame arrived whole (receive() checks), and every event is either there or
     * counted lost: exactly what END will say (LOST; SENT = EVENTS - unshipped). */
    assert_true(received_events() > 0);
    assert_int_equal(received_events() + ft_tstate_lost() + ft_ship_lost_unsent() - lost0, n);
    assert_int_equal(ft_tstate_events() - ev0 - (ft_ship_unshipped()), received_events());
}

/* Once recording has detached, the buffer it started over with still takes the records
 * that fit. A flush of them while the writer is stalled loses them (counted), and nothing
 * else of that thread may reach the writer before the GAP that marks the hole: a call
 * started in the hole whose return went out after it would be a return of nothing, counted
 * in tracer.events with no line (CI on main 347db21: test_stall, events 22445, lines 22444). */
static void
a_hole_left_by_a_flush_while_the_writer_stalls_is_marked_before_the_records_after_it(void **state)
{
    uint64_t lost0 = ft_tstate_lost() + ft_ship_lost_unsent();
    int n = 0;

    (void)state;
    ft_cfg.wait_ns = 100000000;                   /* 0.1 s */
    while (!ft_tstate_detached() && n < 200000) { /* nobody reads: the writer has stalled */
        ft_emit(ft_self, ft_rec_word0(FT_REC_CALL, 1), (uint64_t)n++);
    }
    assert_true(ft_tstate_detached());
    ft_emit(ft_self, ft_rec_word0(FT_REC_CALL, TRACKED), 1); /* fits: recorded */
    ft_ship_lock();
    ft_ship_idle(); /* the flusher: the writer still reads nothing, the call is lost */
    ft_ship_unlock();
    ft_emit(ft_self, ft_rec_word0(FT_REC_RETURN, TRACKED), 2); /* fits: recorded */
    end_with_the_writer_reading();
    /* The call went with the flush, the return after the hole, behind its GAP. */
    assert_int_equal(tracked.n, 2);
    assert_int_equal(tracked.kind[0], FT_REC_GAP);
    assert_int_equal(tracked.kind[1], FT_REC_RETURN);
    assert_int_equal(received_events() + ft_tstate_lost() + ft_ship_lost_unsent() - lost0, n + 2);
}

static void
in_drop_mode_the_program_never_waits_and_every_drop_is_counted(void **state)
{
    uint64_t lost0 = ft_tstate_lost() + ft_ship_lost_unsent(), blocked0 = ft_tstate_blocked_ns();

    (void)state;
    ft_cfg.drop = 1;
    ft_cfg.wait_ns = 60000000000u;                      /* a wait would be noticed */
    emit_calls(60000);                                  /* nobody reads */
    assert_int_equal(ft_tstate_blocked_ns(), blocked0); /* never waited */
    assert_false(ft_tstate_detached());                 /* drops, goes on */
    receive();
    ft_ship_lock();
    ft_ship_all();
    ft_ship_unlock();
    receive();
    assert_true(ft_tstate_lost() + ft_ship_lost_unsent() - lost0 > 0);
    assert_int_equal(received_events() + ft_tstate_lost() + ft_ship_lost_unsent() - lost0, 60000);
    ft_cfg.drop = 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            a_thread_is_announced_and_definitions_go_before_the_events_that_use_them, setup,
            teardown),
        cmocka_unit_test_setup_teardown(ship_all_sends_a_clock_then_every_threads_committed_records,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            when_the_writer_is_gone_recording_detaches_and_the_loss_is_counted, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_stalled_writer_detaches_recording_and_the_end_counts_every_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(
            a_hole_left_by_a_flush_while_the_writer_stalls_is_marked_before_the_records_after_it,
            setup, teardown),
        cmocka_unit_test_setup_teardown(
            in_drop_mode_the_program_never_waits_and_every_drop_is_counted, setup, teardown),
    };
    return cmocka_run_group_tests_name("ship", tests, setup_all, NULL);
}
