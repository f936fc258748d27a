/* make_seeds.c - writes the fuzzer's synthetic seeds (streams built like the unit tests'
 * in tests/unit/stream.h) into the directory given as argv[1]. */
#include <stdio.h>

#include "tests/unit/stream.h"

static void
save(const char *dir, const char *name, unsigned char ctl, const struct stream *s)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "wb")) == NULL) {
        perror(path);
        return;
    }
    fputc(ctl, f);
    fwrite(s->p, 1, s->len, f);
    fclose(f);
}

static void
base(struct stream *s)
{
    memset(s, 0, sizeof(*s));
    stream_hello(s, 42, "python3\0app.py", 14);
    stream_thread(s, 1, "MainThread");
    stream_thread(s, 2, "worker");
    stream_def(s, 1, "app", "main", "/app.py", 1);
    stream_def(s, 2, "app", "Inventory.add", "/app.py", 5);
}

/* A value's text with FT_ARG_JSON in its length word (1.8). */
static size_t
lpj(uint8_t *out, size_t pos, const char *json)
{
    uint32_t n = (uint32_t)strlen(json), word = n | FT_ARG_JSON;

    memcpy(out + pos, &word, 4);
    memcpy(out + pos + 4, json, n);
    return pos + 4 + n;
}

/* Format-3 values (1.8): JSON arguments, a described result, JSON locals, one malformed
 * value, and an old-style unflagged text. */
static void
typed_values(const char *dir)
{
    static const char result[] = "{\"type\": \"app.Order\", \"repr\": \"<app.Order object>\"}";
    struct stream s;
    struct recs r = {.n = 0};
    uint8_t args[256] = {0}, locals[128];
    uint32_t count = 2;
    size_t n, ln;

    base(&s);
    n = lpj(args, 8, "{\"user\": \"ana\", \"n\": [1, 2.5, null, true]}");
    n = lpj(args, n, "\"say \\\"hi\\\" \\u0001\"");
    n = lpj(args, n, "[1, \"unclosed]");
    n = lp(args, n, "'old text'");
    rec2(&r, FT_REC_CALL, 2, TEST_MONO_NS + 1000);
    recv_(&r, FT_REC_ARGS, args, n);
    rec2(&r, FT_REC_RETURN, 2, TEST_MONO_NS + 2000);
    recv_(&r, FT_REC_RESULT_JSON, result, sizeof(result) - 1);
    memcpy(locals, &count, 4);
    ln = lp(locals, 4, "path");
    ln = lpj(locals, ln, "\"cfg\"");
    ln = lp(locals, ln, "password");
    ln = lpj(locals, ln, "{\"redacted\": true, \"repr\": \"<redacted>\"}");
    rec2(&r, FT_REC_CALL, 1, TEST_MONO_NS + 3000);
    rec2(&r, FT_REC_UNWIND, 1, TEST_MONO_NS + 4000);
    recv_(&r, FT_REC_LOCALS, locals, ln);
    stream_events(&s, 1, &r);
    stream_end_counts(&s, FT_END_EXIT, 0, TEST_MONO_NS + 5000, 0, 4);
    save(dir, "synthetic-typed-values", 0x00, &s);
    save(dir, "synthetic-typed-values-chunked", 0x03, &s);
    free(s.p);
}

/* Whole events (1.9): CALL_INTS and RETURN_INT nested, mixed with CALL + ARGS_INTS, and a
 * call still open at the end. */
static void
whole_events(const char *dir)
{
    struct stream s;
    struct recs r = {.n = 0};
    int64_t args[2] = {5, -3}, res = 8;

    base(&s);
    stream_def_params(&s, 3, "app", "fib", "/app.py", 9, 0, "n\0m", 4);
    rec_whole(&r, FT_REC_CALL_INTS, 3, TEST_MONO_NS + 1000, args, 2);
    rec_whole(&r, FT_REC_CALL_INTS, 1, TEST_MONO_NS + 1100, NULL, 0);
    rec_whole(&r, FT_REC_RETURN_INT, 1, TEST_MONO_NS + 1200, &res, 1);
    rec2(&r, FT_REC_CALL, 3, TEST_MONO_NS + 1300);
    recv_(&r, FT_REC_ARGS_INTS, args, sizeof(args));
    rec_whole(&r, FT_REC_RETURN_INT, 3, TEST_MONO_NS + 1400, &res, 1);
    rec_whole(&r, FT_REC_RETURN_INT, 3, TEST_MONO_NS + 1500, &res, 1);
    rec_whole(&r, FT_REC_CALL_INTS, 3, TEST_MONO_NS + 1600, args, 2);
    stream_events(&s, 1, &r);
    stream_end_counts(&s, FT_END_EXIT, 0, TEST_MONO_NS + 5000, 0, 7);
    save(dir, "synthetic-whole-events", 0x00, &s);
    save(dir, "synthetic-whole-events-chunked", 0x03, &s);
    free(s.p);
}

/* One EVENTS frame longer than FT_WIRE_HOLD (96 KiB of whole events): it comes out in
 * pieces, scanned (chunk 18) or open with its records cut where the reads end (19). */
static void
big_frame(const char *dir)
{
    enum { CALLS = 1500 };
    struct stream s;
    uint64_t *w = calloc(CALLS * 8, 8);
    size_t n = 0;

    base(&s);
    stream_def_params(&s, 3, "app", "fib", "/app.py", 9, 0, "n", 2);
    for (uint64_t i = 0; i < CALLS; i++) {
        w[n++] = ft_rec_word0(FT_REC_CALL_INTS, 24);
        w[n++] = 3;
        w[n++] = TEST_MONO_NS + 10 * i;
        w[n++] = i;
        w[n++] = ft_rec_word0(FT_REC_RETURN_INT, 24);
        w[n++] = 3;
        w[n++] = TEST_MONO_NS + 10 * i + 5;
        w[n++] = 2 * i;
    }
    stream_frame(&s, FT_FRAME_EVENTS, 1, w, n * 8);
    stream_end_counts(&s, FT_END_EXIT, 0, TEST_MONO_NS + 100000, 0, 2 * CALLS);
    save(dir, "synthetic-big-frame-scanned", 0x12, &s);
    save(dir, "synthetic-big-frame-open", 0x13, &s);
    free(w);
    free(s.p);
}

int
main(int argc, char **argv)
{
    struct stream s;
    struct recs r = {.n = 0}, w = {.n = 0};

    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    base(&s);
    rec2(&r, FT_REC_CALL, 1, TEST_MONO_NS + 1000);
    rec2(&r, FT_REC_CALL, 2, TEST_MONO_NS + 2000);
    rec2(&r, FT_REC_RETURN, 2, TEST_MONO_NS + 3000);
    rec2(&w, FT_REC_CALL, 2, TEST_MONO_NS + 2500);
    rec2(&w, FT_REC_GAP, 3, TEST_MONO_NS + 2600);
    rec2(&w, FT_REC_UNWIND, 2, TEST_MONO_NS + 2700);
    stream_events(&s, 1, &r);
    stream_events(&s, 2, &w);
    stream_frame(&s, FT_FRAME_THREAD_END, 2, NULL, 0);
    save(argv[1], "synthetic-open-call", 0x00, &s);
    save(argv[1], "synthetic-open-call-chunked", 0x03, &s);
    r.n = 0;
    rec2(&r, FT_REC_UNWIND, 1, TEST_MONO_NS + 4000);
    stream_events(&s, 1, &r);
    stream_end_counts(&s, FT_END_EXCEPTION, 1, TEST_MONO_NS + 5000, 3, 9);
    save(argv[1], "synthetic-complete", 0x00, &s);
    save(argv[1], "synthetic-output-fails", 0x80, &s);
    save(argv[1], "synthetic-recovered", 0x40, &s);
    free(s.p);
    /* A unit whose call hands work to the worker thread (1.5). */
    base(&s);
    r.n = w.n = 0;
    rec2(&r, FT_REC_CALL, 1, TEST_MONO_NS + 1000);
    {
        uint8_t u[64];
        size_t pos = 0;
        ft_put_tlv_u64(u, sizeof(u), &pos, FT_UTAG_KIND, FT_UNIT_FUNCTION);
        recv_(&r, FT_REC_UNIT, u, pos);
    }
    rec3(&r, FT_REC_HANDOFF, 0, TEST_MONO_NS + 1100, 1);
    rec3(&r, FT_REC_HANDOFF, 0, TEST_MONO_NS + 1200, 2);
    rec3(&w, FT_REC_ADOPT, 0, TEST_MONO_NS + 1300, 1);
    rec2(&w, FT_REC_CALL, 2, TEST_MONO_NS + 1400);
    rec2(&w, FT_REC_RETURN, 2, TEST_MONO_NS + 1500);
    rec2(&w, FT_REC_ADOPT_END, 0, TEST_MONO_NS + 1600);
    rec3(&w, FT_REC_ADOPT, 0, TEST_MONO_NS + 1700, 2);
    rec2(&w, FT_REC_CALL, 2, TEST_MONO_NS + 1800);
    stream_events(&s, 1, &r);
    stream_events(&s, 2, &w);
    r.n = 0;
    rec2(&r, FT_REC_RETURN, 1, TEST_MONO_NS + 4000);
    stream_events(&s, 1, &r);
    stream_end_counts(&s, FT_END_EXIT, 0, TEST_MONO_NS + 5000, 0, 6);
    save(argv[1], "synthetic-handoff", 0x00, &s);
    save(argv[1], "synthetic-handoff-chunked", 0x03, &s);
    free(s.p);
    typed_values(argv[1]);
    whole_events(argv[1]);
    big_frame(argv[1]);
    return 0;
}
