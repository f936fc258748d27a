/* test_wire.c - the stream format: round trips, and malformed input gives errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>

#include "lib/err.h"
#include "stream.h"

static void
frames_round_trip_when_fed_one_byte_at_a_time(void **state)
{
    struct stream s = {0};
    struct recs r = {.n = 0};
    struct ft_wire_decoder d;
    struct ft_frame f;
    unsigned types[8];
    int n = 0;

    (void)state;
    stream_hello(&s, 42, "python3\0app.py", 14);
    stream_thread(&s, 1, "MainThread");
    rec2(&r, FT_REC_CALL, 7, 100);
    rec2(&r, FT_REC_RETURN, 7, 200);
    stream_events(&s, 1, &r);
    ft_wire_decoder_init(&d);
    for (size_t i = 0; i < s.len; i++) {
        assert_int_equal(ft_wire_decoder_feed(&d, s.p + i, 1), 0);
        while (ft_wire_next_frame(&d, &f) == 1) {
            types[n++] = f.hdr.type;
            if (f.hdr.type == FT_FRAME_EVENTS) {
                struct ft_rec rec;
                size_t pos = 0;
                assert_int_equal(f.hdr.thread, 1);
                assert_int_equal(ft_rec_next(f.payload, f.hdr.len, &pos, &rec), 1);
                assert_int_equal(rec.kind, FT_REC_CALL);
                assert_int_equal(rec.payload, 7);
                assert_int_equal(rec.ticks, 100);
                assert_int_equal(ft_rec_next(f.payload, f.hdr.len, &pos, &rec), 1);
                assert_int_equal(rec.kind, FT_REC_RETURN);
                assert_int_equal(ft_rec_next(f.payload, f.hdr.len, &pos, &rec), 0);
            }
        }
    }
    assert_int_equal(n, 3);
    assert_int_equal(types[0], FT_FRAME_HELLO);
    assert_int_equal(types[1], FT_FRAME_THREAD);
    assert_int_equal(types[2], FT_FRAME_EVENTS);
    assert_int_equal(ft_wire_decoder_pending(&d), 0);
    ft_wire_decoder_close(&d);
    free(s.p);
}

static void
truncated_stream_leaves_pending_bytes(void **state)
{
    struct stream s = {0};
    struct ft_wire_decoder d;
    struct ft_frame f;

    (void)state;
    stream_hello(&s, 42, "python3", 7);
    ft_wire_decoder_init(&d);
    ft_wire_decoder_feed(&d, s.p, s.len - 3);
    assert_int_equal(ft_wire_next_frame(&d, &f), 0);
    assert_true(ft_wire_decoder_pending(&d) > 0);
    ft_wire_decoder_close(&d);
    free(s.p);
}

static void
bad_magic_is_an_error_and_stays_one(void **state)
{
    uint8_t junk[64];
    struct ft_wire_decoder d;
    struct ft_frame f;

    (void)state;
    memset(junk, 'x', sizeof(junk));
    ft_wire_decoder_init(&d);
    ft_wire_decoder_feed(&d, junk, sizeof(junk));
    assert_int_equal(ft_wire_next_frame(&d, &f), FT_EBADMAGIC);
    assert_int_equal(ft_wire_next_frame(&d, &f), FT_EBADMAGIC);
    ft_wire_decoder_close(&d);
}

static void
oversized_and_unknown_frames_are_rejected_from_the_header(void **state)
{
    struct ft_frame_hdr h = {FT_WIRE_MAGIC, FT_FRAME_EVENTS, 0, FT_FRAME_MAX + 1, 1};
    struct ft_wire_decoder d;
    struct ft_frame f;

    (void)state;
    assert_int_equal(ft_wire_check_hdr(&h), FT_ETOOBIG);
    h.len = 0;
    h.type = FT_FRAME_TYPE_MAX + 1;
    assert_int_equal(ft_wire_check_hdr(&h), FT_EBADFRAME);
    h.type = 0;
    assert_int_equal(ft_wire_check_hdr(&h), FT_EBADFRAME);
    /* The decoder refuses before waiting for 16 MiB of payload. */
    h.type = FT_FRAME_EVENTS;
    h.len = 0xffffffffu;
    ft_wire_decoder_init(&d);
    ft_wire_decoder_feed(&d, &h, sizeof(h));
    assert_int_equal(ft_wire_next_frame(&d, &f), FT_ETOOBIG);
    ft_wire_decoder_close(&d);
}

static void
truncated_records_and_zero_kind_are_errors(void **state)
{
    uint64_t w[3] = {ft_rec_word0(FT_REC_CALL, 1), 5, 0};
    struct ft_rec r;
    size_t pos = 0;

    (void)state;
    assert_int_equal(ft_rec_next((uint8_t *)w, 8, &pos, &r), FT_EBADRECORD);
    pos = 0;
    assert_int_equal(ft_rec_next((uint8_t *)w, 12, &pos, &r), FT_EBADRECORD);
    pos = 16;
    assert_int_equal(ft_rec_next((uint8_t *)w, 24, &pos, &r), FT_EBADRECORD); /* kind 0 */
    /* A variable record claiming more bytes than the frame holds. */
    w[0] = ft_rec_word0(FT_REC_VALUE, 100);
    pos = 0;
    assert_int_equal(ft_rec_next((uint8_t *)w, 24, &pos, &r), FT_EBADRECORD);
    /* A variable record that fits, padded to 8. */
    w[0] = ft_rec_word0(FT_REC_VALUE, 5);
    pos = 0;
    assert_int_equal(ft_rec_next((uint8_t *)w, 16, &pos, &r), 1);
    assert_int_equal(pos, 16);
    assert_int_equal(r.payload, 5);
}

static void
tlv_overrunning_its_payload_is_an_error(void **state)
{
    uint8_t b[64];
    size_t pos = 0, rp = 0;
    uint32_t tag, len;
    const uint8_t *val;
    uint64_t v;

    (void)state;
    ft_put_tlv_str(b, sizeof(b), &pos, FT_TAG_NAME, "abcdef", 6);
    assert_int_equal(ft_tlv_next(b, pos - 1, &rp, &tag, &val, &len), FT_EBADFRAME);
    rp = 0;
    assert_int_equal(ft_tlv_next(b, pos, &rp, &tag, &val, &len), 1);
    assert_int_equal(tag, FT_TAG_NAME);
    assert_memory_equal(val, "abcdef", 6);
    assert_int_equal(ft_tlv_u64(val, len, &v), FT_EBADFRAME);
    assert_int_equal(ft_put_tlv_str(b, 10, &rp, FT_TAG_NAME, "abcdef", 6), -ENOSPC);
}

static void
defs_round_trip_and_reject_overruns(void **state)
{
    uint8_t b[256];
    size_t pos = 0, rp = 0;
    struct ft_def_view v = {9, FT_DEF_GENERATOR, 12, "app", "f.g", "/a.py", 3, 3, 5, "x\0y", 3},
                       out;

    (void)state;
    assert_int_equal(ft_put_def(b, sizeof(b), &pos, &v), 0);
    assert_int_equal(pos % 8, 0);
    assert_int_equal(ft_def_next(b, pos, &rp, &out), 1);
    assert_int_equal(out.id, 9);
    assert_int_equal(out.line, 12);
    assert_int_equal(out.flags, FT_DEF_GENERATOR);
    assert_memory_equal(out.name, "f.g", 3);
    assert_memory_equal(out.file, "/a.py", 5);
    assert_int_equal(out.params_len, 3);
    assert_memory_equal(out.params, "x\0y", 3);
    rp = 0;
    assert_int_equal(ft_def_next(b, pos - 8, &rp, &out), FT_EBADFRAME);
}

/* ---- Bounded memory: a big EVENTS frame comes out in pieces as its bytes arrive ---------- */

#define BIG_CALLS 30000 /* 30,000 CALL + RETURN pairs and 300 ARGS: about 1 MiB */

#define HUGE_ARG 100000 /* an ARGS record longer than the decoder's buffer */

/* Appends one EVENTS frame of thread 1 holding BIG_CALLS calls (ticks 1, 2, ...), an ARGS
 * record of 1..13 bytes after every 100th CALL (with huge, the one after call 15,000 of
 * HUGE_ARG bytes). Returns the payload's length. */
static size_t
stream_big_events(struct stream *s, int huge)
{
    size_t cap = BIG_CALLS * 32 + (BIG_CALLS / 100) * 24 + HUGE_ARG, n = 0;
    uint8_t *p = calloc(1, cap);

    for (uint64_t i = 0; i < BIG_CALLS; i++) {
        uint64_t w[2] = {ft_rec_word0(FT_REC_CALL, 7), 2 * i + 1};
        memcpy(p + n, w, 16);
        n += 16;
        if (i % 100 == 0) {
            size_t len = huge && i == 15000 ? HUGE_ARG : i % 13 + 1;
            uint64_t w0 = ft_rec_word0(FT_REC_ARGS, len);
            memcpy(p + n, &w0, 8);
            n += 8 + (len + 7) / 8 * 8;
        }
        w[0] = ft_rec_word0(FT_REC_RETURN, 7);
        w[1] = 2 * i + 2;
        memcpy(p + n, w, 16);
        n += 16;
    }
    stream_frame(s, FT_FRAME_EVENTS, 1, p, n);
    free(p);
    return n;
}

/* HELLO, THREAD, the big EVENTS frame, END. Returns the EVENTS payload's length. */
static size_t
big_stream_of(struct stream *s, int huge)
{
    size_t payload;

    stream_hello(s, 42, "python3", 7);
    stream_thread(s, 1, "MainThread");
    payload = stream_big_events(s, huge);
    stream_end(s, FT_END_EXIT, 0, 10);
    return payload;
}

static size_t
big_stream(struct stream *s)
{
    return big_stream_of(s, 0);
}

struct seen {
    unsigned types[8];
    int nframes;    /* frames other than pieces of the big one */
    size_t pieces;  /* frames of thread 1's EVENTS */
    uint64_t bytes; /* their payload bytes */
    uint64_t calls, returns, args, last_ticks;
    size_t max_cap;
    size_t cuts; /* open pieces that ended in a cut record */
};

static void
take_frames(struct ft_wire_decoder *d, struct seen *v)
{
    struct ft_frame f;
    int rc;

    while ((rc = ft_wire_next_frame(d, &f)) == 1) {
        if (f.hdr.type != FT_FRAME_EVENTS || f.hdr.thread != 1) {
            v->types[v->nframes++] = f.hdr.type;
            continue;
        }
        if (v->pieces++ == 0) {
            v->types[v->nframes++] = f.hdr.type;
        }
        v->bytes += f.hdr.len;
        struct ft_rec r;
        size_t pos = 0;
        while ((rc = ft_rec_next(f.payload, f.hdr.len, &pos, &r)) == 1) {
            if (r.kind == FT_REC_ARGS) {
                v->args++;
                continue;
            }
            assert_int_equal(r.ticks, v->last_ticks + 1); /* every record, in order */
            v->last_ticks = r.ticks;
            v->calls += r.kind == FT_REC_CALL;
            v->returns += r.kind == FT_REC_RETURN;
        }
        if (rc < 0 && f.more > 0) {
            /* An open piece: its last record cut, given back to come again whole. */
            assert_true(ft_wire_rec_cut(f.payload + pos, f.hdr.len - pos, f.more));
            ft_wire_decoder_unread(d, f.hdr.len - pos);
            v->bytes -= f.hdr.len - pos;
            v->cuts++;
            rc = 0;
        }
        assert_int_equal(rc, 0); /* a piece holds whole records only */
    }
    assert_int_equal(rc, 0);
    if (d->cap > v->max_cap) {
        v->max_cap = d->cap;
    }
}

static void
check_big(const struct seen *v, size_t payload)
{
    assert_int_equal(v->nframes, 4);
    assert_int_equal(v->types[0], FT_FRAME_HELLO);
    assert_int_equal(v->types[1], FT_FRAME_THREAD);
    assert_int_equal(v->types[2], FT_FRAME_EVENTS);
    assert_int_equal(v->types[3], FT_FRAME_END);
    assert_int_equal(v->bytes, payload);
    assert_true(v->pieces > 1);
    assert_int_equal(v->calls, BIG_CALLS);
    assert_int_equal(v->returns, BIG_CALLS);
    assert_int_equal(v->args, BIG_CALLS / 100);
}

static void
a_megabyte_frame_fed_in_reads_is_decoded_in_a_bounded_buffer(void **state)
{
    struct stream s = {0};
    struct ft_wire_decoder d;
    struct seen v = {.nframes = 0};
    size_t payload;

    (void)state;
    payload = big_stream(&s);
    ft_wire_decoder_init(&d);
    for (size_t i = 0; i < s.len; i += 4093) {
        size_t n = s.len - i < 4093 ? s.len - i : 4093;
        assert_int_equal(ft_wire_decoder_feed(&d, s.p + i, n), 0);
        take_frames(&d, &v);
    }
    check_big(&v, payload);
    assert_true(v.max_cap <= FT_WIRE_DECODE_BUF); /* was the whole frame: 2 MiB */
    assert_int_equal(ft_wire_decoder_pending(&d), 0);
    ft_wire_decoder_close(&d);
    free(s.p);
}

static void
reading_into_the_decoder_keeps_its_buffer_at_sixty_four_kib(void **state)
{
    struct stream s = {0};
    struct ft_wire_decoder d;
    struct seen v = {.nframes = 0};
    size_t payload, i = 0;

    (void)state;
    payload = big_stream(&s);
    ft_wire_decoder_init(&d);
    while (i < s.len) {
        size_t room = 0;
        uint8_t *p = ft_wire_decoder_space(&d, &room);
        assert_non_null(p);
        assert_true(room > 0);
        size_t n = s.len - i < room ? s.len - i : room; /* a read fills what it is given */
        memcpy(p, s.p + i, n);
        ft_wire_decoder_commit(&d, n);
        i += n;
        take_frames(&d, &v);
    }
    check_big(&v, payload);
    assert_int_equal(v.max_cap, FT_WIRE_DECODE_BUF);
    assert_int_equal(ft_wire_decoder_pending(&d), 0);
    ft_wire_decoder_close(&d);
    free(s.p);
}

/* Open pieces (the writer's connections): every byte held comes out, a cut record goes
 * back and comes again whole; reads of every size give every record once, in order, and
 * the buffer stays one read big but for a record longer than it. */
static void
open_pieces_give_every_record_once_whatever_the_reads(void **state)
{
    static const size_t reads[] = {1, 7, 13, 4093, 65536, 200000};

    (void)state;
    for (int huge = 0; huge <= 1; huge++) {
        for (size_t k = 0; k < sizeof(reads) / sizeof(reads[0]); k++) {
            struct stream s = {0};
            struct ft_wire_decoder d;
            struct seen v = {.nframes = 0};
            size_t payload = big_stream_of(&s, huge), i = 0;

            ft_wire_decoder_init(&d);
            ft_wire_decoder_open(&d);
            while (i < s.len) {
                size_t room = 0;
                uint8_t *p = ft_wire_decoder_space(&d, &room);
                assert_non_null(p);
                size_t n = s.len - i < room ? s.len - i : room;
                n = n < reads[k] ? n : reads[k];
                memcpy(p, s.p + i, n);
                ft_wire_decoder_commit(&d, n);
                i += n;
                take_frames(&d, &v);
            }
            check_big(&v, payload);
            assert_true(v.cuts > 0 || reads[k] == 1);
            assert_true(v.max_cap <= (huge ? HUGE_ARG + 8 + 4096 : FT_WIRE_DECODE_BUF));
            assert_int_equal(ft_wire_decoder_pending(&d), 0);
            ft_wire_decoder_close(&d);
            free(s.p);
        }
    }
}

/* What is cut and what is malformed at an open piece's end. */
static void
a_record_is_cut_only_if_its_frame_holds_it(void **state)
{
    uint64_t w[2] = {ft_rec_word0(FT_REC_CALL, 7), 1};
    uint64_t a = ft_rec_word0(FT_REC_ARGS, 20); /* 8 + 24 bytes */

    (void)state;
    assert_true(ft_wire_rec_cut((const uint8_t *)w, 4, 12));   /* its first word coming */
    assert_false(ft_wire_rec_cut((const uint8_t *)w, 4, 3));   /* the frame ends first */
    assert_true(ft_wire_rec_cut((const uint8_t *)w, 8, 8));    /* 16 bytes, 8 here */
    assert_false(ft_wire_rec_cut((const uint8_t *)w, 8, 7));   /* overruns its frame */
    assert_false(ft_wire_rec_cut((const uint8_t *)w, 16, 40)); /* whole: not cut */
    assert_true(ft_wire_rec_cut((const uint8_t *)&a, 8, 24));
    assert_false(ft_wire_rec_cut((const uint8_t *)&a, 8, 23));
    w[0] = 0; /* kind 0: malformed, never cut */
    assert_false(ft_wire_rec_cut((const uint8_t *)w, 8, 100));
}

static void
a_frame_cut_or_overrun_while_streamed_is_reported_at_its_record(void **state)
{
    struct stream s = {0};
    struct ft_wire_decoder d;
    struct ft_frame f;
    uint64_t w[2] = {ft_rec_word0(FT_REC_CALL, 7), 1}, bad = ft_rec_word0(FT_REC_ARGS, 1u << 20);
    uint8_t *p = calloc(1, 100 << 10);
    size_t hello_len, n = 0, good = 0, pos = 0;
    struct ft_rec r;
    int rc;

    (void)state;
    stream_hello(&s, 42, "python3", 7);
    hello_len = s.len;
    while (n < (64 << 10)) {
        memcpy(p + n, w, 16);
        n += 16;
    }
    memcpy(p + n, &bad, 8); /* an ARGS record of 1 MiB in a 100 KiB frame */
    stream_frame(&s, FT_FRAME_EVENTS, 1, p, 100 << 10);
    ft_wire_decoder_init(&d);
    /* Cut: the first 70 KiB of the frame came, then the stream ended. */
    assert_int_equal(ft_wire_decoder_feed(&d, s.p, hello_len + (70 << 10)), 0);
    assert_int_equal(ft_wire_next_frame(&d, &f), 1);
    while ((rc = ft_wire_next_frame(&d, &f)) == 1) {
        assert_int_equal(f.offset, hello_len); /* a piece says where its frame began */
        pos = 0;
        while ((rc = ft_rec_next(f.payload, f.hdr.len, &pos, &r)) == 1) {
            good++;
        }
        if (rc < 0) {
            break;
        }
    }
    /* Every whole call came out; the overrunning record is the reader's error. */
    assert_int_equal(good, (64 << 10) / 16);
    assert_int_equal(rc, FT_EBADRECORD);
    assert_true(ft_wire_decoder_pending(&d) > 0);
    assert_int_equal(ft_wire_decoder_offset(&d), hello_len);
    ft_wire_decoder_close(&d);
    free(p);
    free(s.p);
}

static void
exc_fields_are_found_after_the_three_texts_and_overruns_rejected(void **state)
{
    /* type "E", module "m", message "", then RAISE_LINE 2 (u32 7) and LEFT 4 (13, 0). */
    static const uint8_t exc[] = {1, 0, 0, 0, 'E', 1, 0,  0, 0, 'm', 0, 0, 0, 0,
                                  2, 0, 0, 0, 4,   0, 0,  0, 7, 0,   0, 0, 4, 0,
                                  0, 0, 8, 0, 0,   0, 13, 0, 0, 0,   0, 0, 0, 0};
    const uint8_t *val;
    uint32_t n;

    (void)state;
    assert_int_equal(ft_exc_field(exc, sizeof(exc), FT_EXC_LEFT, &val, &n), 1);
    assert_int_equal(n, 8);
    assert_int_equal(val[0], 13);
    assert_int_equal(ft_exc_field(exc, sizeof(exc), FT_EXC_RAISE_LINE, &val, &n), 1);
    assert_int_equal(val[0], 7);
    assert_int_equal(ft_exc_field(exc, 14, FT_EXC_LEFT, &val, &n), 0); /* none */
    assert_int_equal(ft_exc_field(exc, sizeof(exc) - 1, FT_EXC_LEFT, &val, &n), FT_EBADFRAME);
    assert_int_equal(ft_exc_field(exc, 8, FT_EXC_LEFT, &val, &n), FT_EBADFRAME); /* a text */
}

/* CALL_INTS and RETURN_INT are whole events: counted as one each, as CALL and RETURN
 * are, while the value records beside them and the bookkeeping kinds are not. */
static void
whole_event_records_count_as_events_and_values_do_not(void **state)
{
    static const unsigned events[] = {FT_REC_CALL,   FT_REC_RETURN,    FT_REC_UNWIND,
                                      FT_REC_YIELD,  FT_REC_START,     FT_REC_RESUME,
                                      FT_REC_C_CALL, FT_REC_CALL_INTS, FT_REC_RETURN_INT};
    static const unsigned others[] = {FT_REC_GAP,
                                      FT_REC_SPAWN,
                                      FT_REC_HANDOFF,
                                      FT_REC_ADOPT,
                                      FT_REC_ADOPT_END,
                                      FT_REC_ARGS,
                                      FT_REC_ARGS_INTS,
                                      FT_REC_RESULT_INT,
                                      FT_REC_RESULT_JSON,
                                      FT_REC_UNIT,
                                      FT_REC_EXC,
                                      0x50,
                                      0xff};

    (void)state;
    for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
        assert_true(ft_rec_is_event(events[i]));
    }
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        assert_false(ft_rec_is_event(others[i]));
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_round_trip_when_fed_one_byte_at_a_time),
        cmocka_unit_test(open_pieces_give_every_record_once_whatever_the_reads),
        cmocka_unit_test(a_record_is_cut_only_if_its_frame_holds_it),
        cmocka_unit_test(truncated_stream_leaves_pending_bytes),
        cmocka_unit_test(bad_magic_is_an_error_and_stays_one),
        cmocka_unit_test(oversized_and_unknown_frames_are_rejected_from_the_header),
        cmocka_unit_test(truncated_records_and_zero_kind_are_errors),
        cmocka_unit_test(tlv_overrunning_its_payload_is_an_error),
        cmocka_unit_test(defs_round_trip_and_reject_overruns),
        cmocka_unit_test(a_megabyte_frame_fed_in_reads_is_decoded_in_a_bounded_buffer),
        cmocka_unit_test(reading_into_the_decoder_keeps_its_buffer_at_sixty_four_kib),
        cmocka_unit_test(a_frame_cut_or_overrun_while_streamed_is_reported_at_its_record),
        cmocka_unit_test(exc_fields_are_found_after_the_three_texts_and_overruns_rejected),
        cmocka_unit_test(whole_event_records_count_as_events_and_values_do_not),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
