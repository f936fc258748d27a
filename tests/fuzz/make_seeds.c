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
    return 0;
}
