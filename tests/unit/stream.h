/* stream.h - builds FlowTrace streams in memory for unit tests and fuzz seeds.
 *
 * A stream is a growable byte array of frames, made with the same encoders the
 * library uses. Clock: FT_CLOCK_MONOTONIC with a fixed anchor, so outputs are exact.
 */
#ifndef FT_TESTS_STREAM_H
#define FT_TESTS_STREAM_H

#include <stdlib.h>
#include <string.h>

#include "lib/wire.h"

#define TEST_REAL_NS 1700000000000000000ull /* 2023-11-14T22:13:20Z */
#define TEST_MONO_NS 1000000000ull

struct stream {
    uint8_t *p;
    size_t len, cap;
};

static inline uint8_t *
stream_room(struct stream *s, size_t n)
{
    if (s->cap - s->len < n) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap - s->len < n) {
            cap *= 2;
        }
        s->p = realloc(s->p, cap);
        s->cap = cap;
    }
    return s->p + s->len;
}

/* Appends a frame whose payload was built in buf[0..n). */
static inline void
stream_frame(struct stream *s, unsigned type, uint32_t thread, const void *payload, size_t n)
{
    size_t pos = 0;
    uint8_t *p = stream_room(s, sizeof(struct ft_frame_hdr) + n);

    ft_put_hdr(p, sizeof(struct ft_frame_hdr), &pos, type, thread, (uint32_t)n);
    memcpy(p + pos, payload, n);
    s->len += sizeof(struct ft_frame_hdr) + n;
}

static inline void stream_hello_opts(struct stream *s, uint64_t pid, const char *argv,
                                     size_t argv_len, uint64_t max_depth, uint64_t min_ns);

static inline void
stream_hello(struct stream *s, uint64_t pid, const char *argv, size_t argv_len)
{
    stream_hello_opts(s, pid, argv, argv_len, 0, 0);
}

static inline void
stream_hello_opts(struct stream *s, uint64_t pid, const char *argv, size_t argv_len,
                  uint64_t max_depth, uint64_t min_ns)
{
    uint8_t b[4096];
    size_t pos = 0;
    struct ft_anchor a = {TEST_MONO_NS, TEST_MONO_NS, TEST_REAL_NS};

    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_VERSION,
                   ((uint64_t)FT_WIRE_MAJOR << 32) | FT_WIRE_MINOR);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_PID, pid);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_PPID, 1);
    ft_put_tlv_str(b, sizeof(b), &pos, FT_TAG_PYVERSION, "3.11.2", 6);
    ft_put_tlv_str(b, sizeof(b), &pos, FT_TAG_ARGV, argv, argv_len);
    ft_put_tlv_str(b, sizeof(b), &pos, FT_TAG_CWD, "/work", 5);
    ft_put_tlv_str(b, sizeof(b), &pos, FT_TAG_ENGINE, "profile", 7);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_CLOCK, FT_CLOCK_MONOTONIC);
    ft_put_tlv_str(b, sizeof(b), &pos, FT_TAG_ANCHOR, &a, sizeof(a));
    if (max_depth) {
        ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_MAX_DEPTH, max_depth);
    }
    if (min_ns) {
        ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_MIN_DURATION, min_ns);
    }
    stream_frame(s, FT_FRAME_HELLO, 0, b, pos);
}

static inline void
stream_thread(struct stream *s, uint32_t idx, const char *name)
{
    uint8_t b[512];
    size_t pos = 0;

    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_TID, 100 + idx);
    ft_put_tlv_str(b, sizeof(b), &pos, FT_TAG_NAME, name, strlen(name));
    stream_frame(s, FT_FRAME_THREAD, idx, b, pos);
}

/* params: parameter names separated by NUL, params_len bytes (0 for none). */
static inline void
stream_def_params(struct stream *s, uint64_t id, const char *module, const char *name,
                  const char *file, uint32_t line, uint32_t flags, const char *params,
                  uint32_t params_len)
{
    uint8_t b[4096];
    size_t pos = 0;
    struct ft_def_view v = {id,
                            flags,
                            line,
                            module,
                            name,
                            file,
                            (uint32_t)strlen(module),
                            (uint32_t)strlen(name),
                            (uint32_t)strlen(file),
                            params,
                            params_len};

    ft_put_def(b, sizeof(b), &pos, &v);
    stream_frame(s, FT_FRAME_DEFS, 0, b, pos);
}

static inline void
stream_def(struct stream *s, uint64_t id, const char *module, const char *name, const char *file,
           uint32_t line)
{
    stream_def_params(s, id, module, name, file, line, 0, NULL, 0);
}

/* Records for one EVENTS frame: build with rec_*, then stream_events(). */
struct recs {
    uint64_t w[4096];
    size_t n;
};

static inline void
rec2(struct recs *r, unsigned kind, uint64_t payload, uint64_t ticks)
{
    r->w[r->n++] = ft_rec_word0(kind, payload);
    r->w[r->n++] = ticks;
}

static inline void
rec3(struct recs *r, unsigned kind, uint64_t payload, uint64_t ticks, uint64_t extra)
{
    r->w[r->n++] = ft_rec_word0(kind, payload);
    r->w[r->n++] = ticks;
    r->w[r->n++] = extra;
}

/* A value record carrying data[0..len). */
static inline void
recv_(struct recs *r, unsigned kind, const void *data, size_t len)
{
    r->w[r->n++] = ft_rec_word0(kind, len);
    memset(&r->w[r->n], 0, (len + 7) / 8 * 8);
    memcpy(&r->w[r->n], data, len);
    r->n += (len + 7) / 8;
}

/* A whole event (1.9: CALL_INTS, RETURN_INT): code id, ticks, then n int64s. */
static inline void
rec_whole(struct recs *r, unsigned kind, uint64_t code, uint64_t ticks, const int64_t *v, size_t n)
{
    r->w[r->n++] = ft_rec_word0(kind, 16 + 8 * n);
    r->w[r->n++] = code;
    r->w[r->n++] = ticks;
    for (size_t i = 0; i < n; i++) {
        memcpy(&r->w[r->n++], &v[i], 8);
    }
}

/* Appends a u32 length and the text to a byte builder. */
static inline size_t
lp(uint8_t *out, size_t pos, const char *text)
{
    uint32_t n = (uint32_t)strlen(text);

    memcpy(out + pos, &n, 4);
    memcpy(out + pos + 4, text, n);
    return pos + 4 + n;
}

static inline void
stream_events(struct stream *s, uint32_t thread, const struct recs *r)
{
    stream_frame(s, FT_FRAME_EVENTS, thread, r->w, r->n * 8);
}

static inline void
stream_end(struct stream *s, int how, int status, uint64_t end_ticks)
{
    uint8_t b[512];
    size_t pos = 0;
    struct ft_anchor a = {end_ticks, end_ticks, TEST_REAL_NS + (end_ticks - TEST_MONO_NS)};

    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_HOW, (uint64_t)how);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_STATUS, (uint64_t)status);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_CPU_US, 1234);
    ft_put_tlv_str(b, sizeof(b), &pos, FT_TAG_ANCHOR, &a, sizeof(a));
    stream_frame(s, FT_FRAME_END, 0, b, pos);
}

/* END as the library sends it since 1.1: with its own counts of records lost and sent. */
static inline void
stream_end_counts(struct stream *s, int how, int status, uint64_t end_ticks, uint64_t lost,
                  uint64_t sent)
{
    uint8_t b[512];
    size_t pos = 0;
    struct ft_anchor a = {end_ticks, end_ticks, TEST_REAL_NS + (end_ticks - TEST_MONO_NS)};

    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_HOW, (uint64_t)how);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_STATUS, (uint64_t)status);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_LOST, lost);
    ft_put_tlv_u64(b, sizeof(b), &pos, FT_TAG_SENT, sent);
    ft_put_tlv_str(b, sizeof(b), &pos, FT_TAG_ANCHOR, &a, sizeof(a));
    stream_frame(s, FT_FRAME_END, 0, b, pos);
}

#endif
