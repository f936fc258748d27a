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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(frames_round_trip_when_fed_one_byte_at_a_time),
        cmocka_unit_test(truncated_stream_leaves_pending_bytes),
        cmocka_unit_test(bad_magic_is_an_error_and_stays_one),
        cmocka_unit_test(oversized_and_unknown_frames_are_rejected_from_the_header),
        cmocka_unit_test(truncated_records_and_zero_kind_are_errors),
        cmocka_unit_test(tlv_overrunning_its_payload_is_an_error),
        cmocka_unit_test(defs_round_trip_and_reject_overruns),
        cmocka_unit_test(exc_fields_are_found_after_the_three_texts_and_overruns_rejected),
    };
    return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
