/* wire.h - the binary stream between libflowtrace.so and flowtrace-writer.
 *
 * This header is the one place the format is defined (docs/format.md describes it in
 * prose). A connection carries a sequence of frames; every frame is a 16-byte header
 * followed by `len` payload bytes. All integers are little-endian. The first frame of a
 * stream is HELLO, which carries the version; readers reject an unknown major version.
 * Any change to a layout here bumps FT_WIRE_MINOR (compatible) or FT_WIRE_MAJOR.
 */
#ifndef FT_LIB_WIRE_H
#define FT_LIB_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "err.h"

#define FT_WIRE_MAGIC 0x31465446u /* "FTF1" in memory order */
#define FT_WIRE_MAJOR 1
#define FT_WIRE_MINOR 9
#define FT_FRAME_MAX  (16u << 20) /* longest payload a reader accepts */

struct ft_frame_hdr {
    uint32_t magic;  /* FT_WIRE_MAGIC */
    uint16_t type;   /* enum ft_frame_type */
    uint16_t flags;  /* reserved, 0 */
    uint32_t len;    /* payload bytes that follow */
    uint32_t thread; /* thread index for per-thread frames, else 0 */
};

enum ft_frame_type {
    FT_FRAME_HELLO = 1,       /* TLVs: process identity, version, clock anchor */
    FT_FRAME_CLOCK = 2,       /* struct ft_anchor: a fresh (ticks, monotonic, realtime) sample */
    FT_FRAME_THREAD = 3,      /* TLVs: a new thread (index in hdr.thread) */
    FT_FRAME_DEFS = 4,        /* code definitions (struct ft_def + strings), any number */
    FT_FRAME_EVENTS = 5,      /* event records of thread hdr.thread */
    FT_FRAME_LOST = 6,        /* TLVs: events lost and why */
    FT_FRAME_EXEC = 7,        /* TLVs: the process is about to exec (everything before is sent) */
    FT_FRAME_FINALIZED = 8,   /* the interpreter finished; no more events will follow */
    FT_FRAME_END = 9,         /* TLVs: how the process ended; the writer answers with ACK */
    FT_FRAME_THREAD_END = 10, /* thread hdr.thread has exited */
    FT_FRAME_ACK = 11,        /* writer -> process: empty: the run is completely written (END
                              * acknowledged); with TLV PATH: HELLO accepted, the run's dir */
    FT_FRAME_NOTE = 12,       /* writer -> process, TLV REASON: the writer stopped recording
                              * this run (the connection may stay open for END) */
    FT_FRAME_SOURCE = 13,     /* TLVs PATH and CONTENT: the text of a file with traced code,
                              * sent once per file (1.7) */
    FT_FRAME_TYPE_MAX = 13,
};

/* TLV fields inside HELLO, THREAD, LOST, EXEC, END and NOTE payloads: a u32 tag, a u32
 * length, then the value. Integers are 8-byte little-endian; strings are raw bytes (no
 * NUL). Readers skip tags they do not know, so new tags are a minor-version change. */
struct ft_tlv_hdr {
    uint32_t tag;
    uint32_t len;
};

enum ft_tag {
    FT_TAG_VERSION = 1,        /* u64: major << 32 | minor */
    FT_TAG_PID = 2,            /* u64 */
    FT_TAG_PPID = 3,           /* u64 */
    FT_TAG_PYVERSION = 4,      /* str: sys.version's first word, e.g. "3.11.2" */
    FT_TAG_ARGV = 5,           /* str: arguments separated by NUL bytes */
    FT_TAG_CWD = 6,            /* str */
    FT_TAG_EXE = 7,            /* str: the executable (/proc/self/exe) */
    FT_TAG_CLOCK = 8,          /* u64: enum ft_clock_kind */
    FT_TAG_ANCHOR = 9,         /* struct ft_anchor (24 bytes) */
    FT_TAG_TID = 10,           /* u64: kernel thread id */
    FT_TAG_NAME = 11,          /* str: thread name */
    FT_TAG_STATUS = 12,        /* u64: exit status (low 8 bits meaningful) */
    FT_TAG_HOW = 13,           /* u64: enum ft_end_how */
    FT_TAG_SIGNAL = 14,        /* u64: signal number for FT_END_SIGNAL */
    FT_TAG_CPU_US = 15,        /* u64: user+system CPU time of the process, microseconds */
    FT_TAG_BLOCKED_US = 16,    /* u64: time threads waited for a free buffer, microseconds */
    FT_TAG_EVENTS = 17,        /* u64: records the hooks produced */
    FT_TAG_LOST = 18,          /* u64: records lost */
    FT_TAG_REASON = 19,        /* str: why (for LOST and NOTE) */
    FT_TAG_PATH = 20,          /* str: exec target (EXEC); the run directory (ACK of HELLO) */
    FT_TAG_ENGINE = 21,        /* str: hook engine name, e.g. "profile" */
    FT_TAG_EXC_TYPE = 22,      /* str: uncaught exception type (qualified name) */
    FT_TAG_EXC_MSG = 23,       /* str: uncaught exception message */
    FT_TAG_IDENT = 24,         /* u64: threading.get_ident() of a thread */
    FT_TAG_PARENT_RUN = 25,    /* str: run id of the process that started this one */
    FT_TAG_MAX_DEPTH = 26,     /* u64: writer keeps calls at most this deep (0: all) */
    FT_TAG_MIN_DURATION = 27,  /* u64 ns: writer leaves out shorter calls */
    FT_TAG_MIRROR_STDOUT = 28, /* u64 1: writer copies JSONL lines to the process's stdout */
    FT_TAG_LOGFILE = 29,       /* str: writer appends JSONL lines to this file too */
    FT_TAG_EXC_MODULE = 30,    /* str: module of the uncaught exception's type */
    FT_TAG_STARTTIME = 31,     /* u64 (HELLO): process start, clock ticks after boot (1.1) */
    FT_TAG_CHILDREN = 32,      /* u64 (HELLO): 0 = trace only if no traced process started this
                            * one; the writer answers ACK (traced) or NOTE (not) (1.1) */
    FT_TAG_SENT = 33,          /* u64 (END): event records that left the process, counted as
                            * tracer.events counts them (1.1) */
    FT_TAG_KEEP = 34,          /* u64 (HELLO): enum ft_keep, which units' files the writer
                            * keeps (1.2) */
    FT_TAG_CONTENT = 35,       /* bytes (SOURCE): a file's text (1.7) */
};

enum ft_clock_kind {
    FT_CLOCK_MONOTONIC = 0, /* ticks are CLOCK_MONOTONIC nanoseconds */
    FT_CLOCK_TSC = 1,       /* ticks are the x86 time-stamp counter; convert with anchors */
};

/* One simultaneous sample of the tick counter and both clocks. */
struct ft_anchor {
    uint64_t ticks;
    uint64_t mono_ns;
    uint64_t real_ns;
};

enum ft_end_how {
    FT_END_EXIT = 1,      /* exit() or return from main, with a status */
    FT_END_EXCEPTION = 2, /* an uncaught exception ended the program */
    FT_END_OS_EXIT = 3,   /* os._exit() / _exit(): no finalisation */
    FT_END_SIGNAL = 4,    /* a signal ended the process */
    FT_END_EXEC = 5,      /* exec replaced the process image */
    FT_END_KILLED = 6,    /* writer-side: the stream ended without END (killed) */
    FT_END_DETACHED = 7,  /* the tracer stopped early (writer lost, timeout) */
};

/* How a run ended, as tree.json's "ended" and the index say it: "exit", "exception",
 * "os._exit", "signal", "exec", "killed", "detached"; "running" for 0 (not known yet),
 * "unknown" out of range. The one table of these names. */
const char *ft_wire_end_name(int how);

/* Which units' trees and events the writer keeps (HELLO KEEP). */
enum ft_keep {
    FT_KEEP_ALL = 1,    /* every unit's */
    FT_KEEP_FAILED = 2, /* only those of units that failed; every unit keeps its summary */
};

/* Units of work (UNIT, UNIT_END, STATUS records): their payload is TLVs with these tags. */
enum ft_unit_kind {
    FT_UNIT_PYTEST = 1,   /* a pytest item (_pytest.runner.runtestprotocol) */
    FT_UNIT_UNITTEST = 2, /* a unittest test method (TestCase.run) */
    FT_UNIT_WSGI = 3,     /* a WSGI request: app(environ, start_response) */
    FT_UNIT_ASGI = 4,     /* an ASGI HTTP request: app(scope, receive, send) */
    FT_UNIT_FUNCTION = 5, /* a call of a --unit MODULE:FUNCTION */
    FT_UNIT_REGION = 6,   /* a region the program marked (flowtrace.record/trace; 1.5) */
    FT_UNIT_KIND_MAX = 6,
};

enum ft_unit_tag {
    FT_UTAG_KIND = 1,       /* u64: enum ft_unit_kind (UNIT) */
    FT_UTAG_NAME = 2,       /* str: the test's node id, the function's name (UNIT) */
    FT_UTAG_METHOD = 3,     /* str: HTTP method (UNIT) */
    FT_UTAG_PATH = 4,       /* str: HTTP path (UNIT) */
    FT_UTAG_REMOTE = 5,     /* str: client address (UNIT) */
    FT_UTAG_AGENT = 6,      /* str: User-Agent (UNIT) */
    FT_UTAG_REQUEST_ID = 7, /* str: the request's X-Request-ID header, if it has one (UNIT) */
    FT_UTAG_OUTCOME = 8,    /* str: passed, failed, skipped, error (UNIT_END of pytest) */
    FT_UTAG_STATUS = 9,     /* u64: HTTP status code (STATUS) */
    /* unittest: the result's counts when the test starts (UNIT) and ends (UNIT_END). */
    FT_UTAG_FAILURES = 10,
    FT_UTAG_ERRORS = 11,
    FT_UTAG_SKIPPED = 12,
    FT_UTAG_XFAILS = 13,      /* expectedFailures */
    FT_UTAG_XPASSES = 14,     /* unexpectedSuccesses */
    FT_UTAG_TRACEPARENT = 15, /* str: the request's W3C traceparent header (UNIT, 1.6) */
    FT_UTAG_TRACESTATE = 16,  /* str: its tracestate header (UNIT, 1.6) */
    FT_UTAG_ROUTE = 17,       /* str: the route template that served it (UNIT_END or STATUS, 1.6) */
};

/* A code definition inside a DEFS frame: this header, then module, qualified name, file
 * and parameter-name bytes, then zero padding to a multiple of 8. The parameter names are
 * those whose values ARGS records carry, in that order, separated by NUL bytes. */
struct ft_def {
    uint64_t id;    /* code id used by event records; nonzero */
    uint32_t flags; /* FT_DEF_* */
    uint32_t line;  /* first line */
    uint32_t module_len;
    uint32_t name_len;
    uint32_t file_len;
    uint32_t params_len; /* since 1.1 (was reserved, 0) */
};

#define FT_DEF_GENERATOR 0x1u  /* co_flags CO_GENERATOR */
#define FT_DEF_COROUTINE 0x2u  /* CO_COROUTINE or CO_ITERABLE_COROUTINE */
#define FT_DEF_ASYNCGEN  0x4u  /* CO_ASYNC_GENERATOR */
#define FT_DEF_CFUNC     0x8u  /* a builtin (C) function rather than a code object */
#define FT_DEF_METHOD    0x10u /* its first parameter (self/cls) is not captured */
#define FT_DEF_BOUNDARY                                                                            \
    0x20u /* framework code outside the scope, traced only because it
                                * delimits a request (WSGI/ASGI app): inside a unit it adds
                                * no level to the tree (1.6) */
#define FT_DEF_GENERATED                                                                           \
    0x40u /* code whose file is empty or <...> (exec'd, generated by a
                                * library such as attrs), not the main program */

/* Event records inside an EVENTS frame are sequences of 8-byte words. Word 0 holds the
 * kind in its low 8 bits and a 56-bit payload above. The kind decides the size:
 *   0x01..0x1f  two words:   word0 (payload = code id), ticks
 *   0x20..0x3f  three words: word0, ticks, one extra word
 *   0x40..0xff  variable:    word0 (payload = byte length n), n bytes, padding to 8
 */
enum ft_rec_kind {
    FT_REC_CALL = 0x01,   /* a traced function started */
    FT_REC_RETURN = 0x02, /* it returned normally */
    FT_REC_UNWIND = 0x03, /* it ended by an exception */
    FT_REC_C_CALL = 0x04, /* a builtin was called (payload: builtin def id) */
    FT_REC_C_RETURN = 0x05,
    FT_REC_C_RAISE = 0x06,
    FT_REC_YIELD = 0x07,       /* a generator/coroutine suspended (payload: code id) */
    FT_REC_GAP = 0x08,         /* records were dropped here (payload: how many); the stack is
                             * unreliable until it unwinds */
    FT_REC_ADOPT_END = 0x09,   /* the work this thread adopted (ADOPT) is over (1.6) */
    FT_REC_RESUME = 0x20,      /* a generator/coroutine resumed; extra: its frame identity */
    FT_REC_START = 0x21,       /* a generator/coroutine started; extra: its frame identity */
    FT_REC_SPAWN = 0x22,       /* the current call created the coroutine whose frame identity
                             * is extra (an asyncio task): it nests there when it runs */
    FT_REC_HANDOFF = 0x23,     /* the current call hands work to another thread; extra: the
                             * hand-off's number (nonzero, used once in a process) (1.6) */
    FT_REC_ADOPT = 0x24,       /* this thread starts the work of hand-off number extra: its
                             * calls until ADOPT_END belong under the handing call (1.6) */
    FT_REC_VALUE = 0x40,       /* reserved */
    FT_REC_ARGS = 0x41,        /* after CALL/START: u64 instance (self, or 0), then per parameter
                             * u32 length + rendered text, or FT_ARG_INT | 8 + an int64 */
    FT_REC_RESULT = 0x42,      /* after RETURN: the rendered return value */
    FT_REC_EXC = 0x43,         /* the exception of the preceding UNWIND records: u32-length-
                             * prefixed type name, module, message; then (1.7) optional
                             * fields (enum ft_exc_field) until the end of the payload */
    FT_REC_UNIT = 0x46,        /* after CALL/START: this call is a unit of work; unit fields */
    FT_REC_UNIT_END = 0x47,    /* after RETURN of a unit's call: unit fields (outcome, counts) */
    FT_REC_STATUS = 0x48,      /* alone: the HTTP status of the current unit; unit fields */
    FT_REC_RESULT_INT = 0x49,  /* after RETURN: the return value, an int that fits an int64,
                             * as 8 bytes; the writer renders it (1.3) */
    FT_REC_ARGS_INTS = 0x4a,   /* after CALL/START of a function without self whose arguments
                             * are all ints that fit an int64: one int64 per parameter, as
                             * ARGS lists them (1.4: half the bytes of ARGS for them) */
    FT_REC_ARGS_AFTER = 0x44,  /* after RETURN: u32 parameter index, u32 length, text; for
                             * mutable arguments, as they are when the call returns */
    FT_REC_MEMORY = 0x45,      /* after CALL (before) and RETURN (after): u64 rss, tracemalloc
                             * current, tracemalloc peak (UINT64_MAX when unknown) */
    FT_REC_LOCALS = 0x4b,      /* after UNWIND: the frame's local variables as the exception
                             * left it: u32 count, then per local u32 name length + name,
                             * u32 length (or FT_ARG_INT | 8) + rendered text (or int64) */
    FT_REC_LEFT_AT = 0x4c,     /* after UNWIND: u32, the line the frame was at when the
                             * exception left it */
    FT_REC_RESULT_JSON = 0x4d, /* after RETURN: the return value's format-3 JSON (1.8) */
    /* Whole events in one record (1.9): no value record follows them. The commonest call
     * and return, so that the writer has each complete without waiting for the next. */
    FT_REC_CALL_INTS = 0x4e,  /* CALL + ARGS_INTS: u64 code id, u64 ticks, then one int64
                             * per parameter (none for a function without parameters) */
    FT_REC_RETURN_INT = 0x4f, /* RETURN + RESULT_INT: u64 code id, u64 ticks, int64 result */
};

/* The optional fields of an EXC record, after its three texts: each a u32 tag, a u32
 * length and that many bytes; a reader skips tags it does not know. */
enum ft_exc_field {
    FT_EXC_RAISE_FILE = 1, /* text: the file of the innermost frame of the traceback */
    FT_EXC_RAISE_LINE = 2, /* u32: its line (for an exception raised in C: the Python line
                            * that called into C) */
    FT_EXC_CAUSE = 3,      /* the next exception of the chain, nearest first, at most 8:
                            * u8 via (1 __cause__, 2 __context__), u32 line, then
                            * u32-length-prefixed type, module, message, file */
    FT_EXC_LEFT = 4,       /* u32 per preceding UNWIND, innermost first: the line the
                            * exception passed in that frame, as its traceback says, where
                            * LEFT_AT said another (3.8-3.11: a frame left through a
                            * `finally:` block is at the block's last line); 0 keeps LEFT_AT */
};

/* An EXC record's optional field of this tag (enum ft_exc_field): its bytes in *val, *n.
 * Returns 1, 0 when there is none, or FT_EBADFRAME when the record is malformed. */
int ft_exc_field(const uint8_t *p, size_t len, uint32_t tag, const uint8_t **val, uint32_t *n);

/* In an ARGS record, a length with this bit set says the value is an int64 (8 bytes) for
 * the writer to render, rather than text (1.3): ints are the commonest arguments, and
 * their digits cost less in the writer than in the traced thread. */
#define FT_ARG_INT 0x80000000u

/* In ARGS, ARGS_AFTER and LOCALS, a length with this bit set says the text is the value's
 * format-3 JSON (docs/format.md "Rendered values"), which the writer checks and copies;
 * text without it (streams before 1.8) is a rendering, shown as {"repr": text} (1.8). */
#define FT_ARG_JSON 0x40000000u

#define FT_REC_FIXED_MAX 0x1f
#define FT_REC_EXTRA_MAX 0x3f

static inline uint64_t
ft_rec_word0(unsigned kind, uint64_t payload)
{
    return (payload << 8) | (uint64_t)kind;
}

/* Whether a record is an event: one JSONL line, one count in tracer.events, END's EVENTS
 * and SENT and the lost totals. GAP (a count of records lost), SPAWN (a link between
 * coroutines) and HANDOFF, ADOPT, ADOPT_END (work passed between threads) are
 * bookkeeping; value records belong to the event before them, but for CALL_INTS and
 * RETURN_INT, which are events with their values inside. */
static inline int
ft_rec_is_event(unsigned kind)
{
    /* One bit per kind below FT_REC_VALUE: set for those that are not events. */
    static const uint64_t not_event = (1ull << FT_REC_GAP) | (1ull << FT_REC_SPAWN) |
                                      (1ull << FT_REC_HANDOFF) | (1ull << FT_REC_ADOPT) |
                                      (1ull << FT_REC_ADOPT_END);

    if (kind >= FT_REC_VALUE) {
        return kind == FT_REC_CALL_INTS || kind == FT_REC_RETURN_INT;
    }
    return ((not_event >> kind) & 1) == 0;
}

/* The length of a CALL_INTS record with n arguments, and of a RETURN_INT record. */
#define FT_CALL_INTS_LEN(n) (16u + 8u * (n))
#define FT_RETURN_INT_LEN   24u

/* ---- Reading ---------------------------------------------------------------------- */

/* Incremental frame decoder: give it bytes as they arrive, take out frames. Memory stays
 * bounded whatever the frames' size: an EVENTS frame longer than FT_WIRE_HOLD comes out
 * in pieces as its bytes arrive, each piece an EVENTS frame of the same thread holding
 * whole records (a piece's hdr.len is its own length), so a reader never holds more of
 * it than one read and one record; every other frame comes out whole. A piece that
 * ends in a record overrunning its frame carries that record's bytes, so the reader's
 * ft_rec_next reports it where a whole frame would have. Frames returned point into the
 * decoder's buffer and are valid until the next ft_wire_decoder_feed(),
 * ft_wire_decoder_space() or ft_wire_decoder_close(). */
#define FT_WIRE_HOLD       (32u << 10) /* longest EVENTS frame always returned whole */
#define FT_WIRE_DECODE_BUF (64u << 10) /* the buffer ft_wire_decoder_space() keeps */

struct ft_wire_decoder {
    uint8_t *buf;
    size_t len; /* bytes held */
    size_t off; /* start of the first unconsumed byte */
    size_t cap;
    size_t need;       /* bytes from off the next frame or record needs to come out */
    uint64_t consumed; /* stream offset of buf[0], for error messages */
    int err;           /* sticky error, 0 if none */
    /* The EVENTS frame coming out in pieces: its header and payload bytes still due. */
    struct ft_frame_hdr cur;
    uint64_t cur_offset;
    uint32_t rest;
    int open; /* pieces come out open (ft_wire_decoder_open) */
};

struct ft_frame {
    struct ft_frame_hdr hdr;
    const uint8_t *payload;
    uint64_t offset; /* stream offset of the frame header (a piece's: its frame's) */
    uint32_t more;   /* an open piece: bytes of its frame after it (its last record may be
                      * cut there); 0 for every other frame and piece */
};

void ft_wire_decoder_init(struct ft_wire_decoder *d);
void ft_wire_decoder_close(struct ft_wire_decoder *d);

/* Open pieces, for a reader that walks the records anyway (the writer's connections):
 * a piece is every byte held of its frame, not only its whole records, which spares the
 * decoder a scan of each record. A piece whose frame goes on (f->more > 0) may end in a
 * cut record: the reader applies the whole records before it, finds the cut with
 * ft_wire_rec_cut, and gives the cut bytes back with ft_wire_decoder_unread; they come
 * out again, at the head of the next piece, once the record is whole. */
void ft_wire_decoder_open(struct ft_wire_decoder *d);

/* Whether the record at p, of which left bytes are held, is whole in its frame but not
 * here: it ends within the more bytes of the frame still to come. A record that
 * overruns its frame, or of kind 0, is not cut but malformed. */
int ft_wire_rec_cut(const uint8_t *p, size_t left, size_t more);

/* Gives back the last n bytes of the open piece just taken (a cut record, and any bytes
 * after it): the decoder holds them again, and hands them out when the record they begin
 * is whole. n = 0 does nothing. */
void ft_wire_decoder_unread(struct ft_wire_decoder *d, size_t n);

/* Appends n bytes to the decoder. Returns 0 or -ENOMEM. The buffer grows to hold them:
 * for bounded memory feed at most FT_WIRE_HOLD bytes between ft_wire_next_frame()
 * loops, or read into ft_wire_decoder_space(). */
int ft_wire_decoder_feed(struct ft_wire_decoder *d, const void *data, size_t n);

/* Where the next bytes read go, for reading straight into the decoder: returns a place
 * for *n (> 0) bytes, then say how many came with ft_wire_decoder_commit(). The buffer
 * is FT_WIRE_DECODE_BUF bytes, more only while a frame returned whole needs more (and
 * back to that size after it). Returns NULL if out of memory. */
uint8_t *ft_wire_decoder_space(struct ft_wire_decoder *d, size_t *n);
void ft_wire_decoder_commit(struct ft_wire_decoder *d, size_t n);

/* Reads once from fd into the decoder's space. Returns the bytes read, 0 at the end of
 * the file, or -errno (-ENOMEM: no room could be had). */
ssize_t ft_wire_decoder_read(struct ft_wire_decoder *d, int fd);

/* Takes the next frame (or piece of one, see above). Returns 1 with *f filled, 0 if
 * more bytes are needed, or a negative error (FT_EBADMAGIC, FT_EBADFRAME, FT_ETOOBIG),
 * after which the decoder returns the same error forever. */
int ft_wire_next_frame(struct ft_wire_decoder *d, struct ft_frame *f);

/* Bytes of a begun frame still held or due (nonzero at EOF means truncation). */
size_t ft_wire_decoder_pending(const struct ft_wire_decoder *d);

/* The stream offset of the first byte not yet returned, for error messages. */
uint64_t ft_wire_decoder_offset(const struct ft_wire_decoder *d);

/* Checks a header on its own: magic, known type, length bound. Returns 0 or an error. */
int ft_wire_check_hdr(const struct ft_frame_hdr *h);

/* Iterates over the TLVs of a payload. Returns 1 with tag/value set, 0 at the end, or
 * FT_EBADFRAME if a TLV overruns the payload. *pos starts at 0. */
int ft_tlv_next(const uint8_t *p, size_t n, size_t *pos, uint32_t *tag, const uint8_t **val,
                uint32_t *len);

/* Reads an 8-byte integer value; returns FT_EBADFRAME if len != 8. */
int ft_tlv_u64(const uint8_t *val, uint32_t len, uint64_t *out);

/* One decoded event record. */
struct ft_rec {
    unsigned kind;
    uint64_t payload;    /* code id, or byte length for variable kinds */
    uint64_t ticks;      /* fixed kinds only */
    uint64_t extra;      /* 0x20..0x3f kinds only */
    const uint8_t *data; /* variable kinds only: payload bytes */
};

/* Decodes the record at p[*pos..n). Returns 1 and advances *pos, 0 at the end, or
 * FT_EBADRECORD if the record is truncated or of kind 0. */
static inline int
ft_rec_next(const uint8_t *p, size_t n, size_t *pos, struct ft_rec *r)
{
    uint64_t w0;
    size_t left;

    if (*pos == n) {
        return 0;
    }
    left = n - *pos;
    if (left < 8) {
        return FT_EBADRECORD;
    }
    memcpy(&w0, p + *pos, 8);
    r->kind = (unsigned)(w0 & 0xff);
    r->payload = w0 >> 8;
    r->ticks = 0;
    r->extra = 0;
    r->data = NULL;
    if (r->kind == 0) {
        return FT_EBADRECORD;
    }
    if (r->kind <= FT_REC_EXTRA_MAX) {
        size_t sz = r->kind <= FT_REC_FIXED_MAX ? 16 : 24;
        if (left < sz) {
            return FT_EBADRECORD;
        }
        memcpy(&r->ticks, p + *pos + 8, 8);
        if (sz == 24) {
            memcpy(&r->extra, p + *pos + 16, 8);
        }
        *pos += sz;
        return 1;
    }
    if (r->payload > left - 8 || ((r->payload + 7u) & ~(uint64_t)7u) > left - 8) {
        return FT_EBADRECORD;
    }
    r->data = p + *pos + 8;
    *pos += 8 + ((r->payload + 7u) & ~(uint64_t)7u);
    return 1;
}

/* Decodes a DEFS payload entry at p[*pos..n). Strings point into p. */
struct ft_def_view {
    uint64_t id;
    uint32_t flags;
    uint32_t line;
    const char *module;
    const char *name;
    const char *file;
    uint32_t module_len, name_len, file_len;
    const char *params; /* NUL-separated parameter names */
    uint32_t params_len;
};
int ft_def_next(const uint8_t *p, size_t n, size_t *pos, struct ft_def_view *v);

/* ---- Writing (no allocation: the caller owns the buffer) --------------------------- */

/* Each writer appends at out[*pos], never past cap, and returns 0 or -ENOSPC. */
int ft_put_hdr(uint8_t *out, size_t cap, size_t *pos, unsigned type, uint32_t thread, uint32_t len);
int ft_put_tlv_u64(uint8_t *out, size_t cap, size_t *pos, uint32_t tag, uint64_t v);
int ft_put_tlv_str(uint8_t *out, size_t cap, size_t *pos, uint32_t tag, const void *s, size_t n);
int ft_put_def(uint8_t *out, size_t cap, size_t *pos, const struct ft_def_view *v);

/* Size a DEFS entry takes on the wire. */
size_t ft_def_size(size_t module_len, size_t name_len, size_t file_len, size_t params_len);

/* Patches the len field of a header written at out[hdr_pos] to cover up to end. */
void ft_patch_len(uint8_t *out, size_t hdr_pos, size_t end);

#endif
