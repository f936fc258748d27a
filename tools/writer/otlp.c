/* otlp.c - live OTLP/HTTP export from the writer's loop, through libcurl (otlp.h). */
#define _GNU_SOURCE
#include "otlp.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "lib/buf.h"
#include "lib/otlp.h"
#include "curlso.h"
#include "otlp_map.h"

#define BATCH_BYTES    (512u << 10) /* a request's body, about */
#define BATCH_DELAY_MS 200          /* the longest a finished unit waits for its batch */
#define QUEUE_MAX      (16u << 20)  /* bodies waiting (for a collector that is down) */
#define INFLIGHT_MAX   2
#define ATTEMPTS_MAX   5
#define BACKOFF_MS     500
#define BACKOFF_MAX_MS 30000
#define SPANS_DEFAULT  128
#define RESPONSE_MAX   4096

struct body {
    struct body *next;
    char *data;
    size_t len;
    uint64_t spans;
    unsigned attempts;
    uint64_t due; /* uv_now() from which it may be sent (again) */
    int busy;     /* a transfer is sending it */
};

struct xfer {
    CURL *easy;
    struct body *body;
    long retry_after; /* seconds, from a Retry-After header, or -1 */
    char resp[RESPONSE_MAX];
    size_t resp_len;
};

struct sock {
    uv_poll_t poll;
    curl_socket_t fd;
};

static struct {
    int on, stopping;
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t curl_timer, batch_timer, retry_timer, deadline;
    struct curl_slist *headers;
    char url[2048];
    long timeout_ms;
    double drain_s;
    size_t span_limit;
    struct ft_otlp_resource res;
    char *service;
    char **extra; /* resource attributes: key, value, ... */
    size_t nextra;
    struct ft_buf pending; /* the batch being filled: {"resourceSpans":[block,... */
    uint64_t pending_spans;
    struct body *head, *tail;
    size_t queued;
    unsigned inflight;
    struct xfer *xfers[INFLIGHT_MAX]; /* in flight */
    uint64_t sent, lost, batches;
    char why[256];   /* why spans were lost, the last time */
    int told;        /* the first loss has been said */
    int unreachable; /* the last request found nobody there (not a busy collector) */
} X;

static void pump(void);

/* ---- Loss and success ------------------------------------------------------------------ */

static void
unlink_body(struct body *b)
{
    struct body **pp = &X.head, *prev = NULL;

    while (*pp != NULL && *pp != b) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp == NULL) {
        return;
    }
    *pp = b->next;
    if (X.tail == b) {
        X.tail = prev;
    }
    X.queued -= b->len;
    free(b->data);
    free(b);
}

static void
lose(uint64_t spans, const char *why)
{
    X.lost += spans;
    snprintf(X.why, sizeof(X.why), "%s", why);
    if (!X.told && spans > 0) {
        X.told = 1;
        fprintf(stderr, "flowtrace-writer: OTLP export to %s fails (%s): spans are lost, counted\n",
                X.url, why);
    }
}

/* ---- Batches --------------------------------------------------------------------------- */

/* The batch being filled becomes a request body waiting to be sent. */
static void
seal(void)
{
    struct body *b;

    uv_timer_stop(&X.batch_timer);
    if (X.pending.len == 0) {
        return;
    }
    ft_buf_puts(&X.pending, "]}");
    b = calloc(1, sizeof(*b));
    if (b == NULL || X.pending.oom) {
        free(b);
        lose(X.pending_spans, "out of memory");
        ft_buf_free(&X.pending);
        ft_buf_init(&X.pending);
        X.pending_spans = 0;
        return;
    }
    b->data = X.pending.p;
    b->len = X.pending.len;
    b->spans = X.pending_spans;
    b->due = uv_now(X.loop);
    ft_buf_init(&X.pending);
    X.pending_spans = 0;
    if (X.tail != NULL) {
        X.tail->next = b;
    } else {
        X.head = b;
    }
    X.tail = b;
    X.queued += b->len;
    /* A collector that stays down must not cost the writer unbounded memory. */
    while (X.queued > QUEUE_MAX && X.head != NULL && !X.head->busy && X.head != b) {
        lose(X.head->spans, "queue full: the collector is too slow or down");
        unlink_body(X.head);
    }
    pump();
}

static void
on_batch_timer(uv_timer_t *t)
{
    (void)t;
    seal();
}

static void
add_block(const struct ft_buf *block, size_t spans)
{
    if (block->oom) {
        lose(spans, "out of memory");
        return;
    }
    ft_buf_puts(&X.pending, X.pending.len == 0 ? "{\"resourceSpans\":[" : ",");
    ft_buf_put(&X.pending, block->p, block->len);
    X.pending_spans += spans;
    if (X.pending.len >= BATCH_BYTES || X.stopping) {
        seal();
    } else if (!uv_is_active((uv_handle_t *)&X.batch_timer)) {
        uv_timer_start(&X.batch_timer, on_batch_timer, BATCH_DELAY_MS, 0);
    }
}

void
ft_otlp_unit(void *ctx, const struct ft_run *r, const struct ft_unit_export *u)
{
    struct ft_buf b;
    size_t n;

    (void)ctx;
    if (!X.on) {
        return;
    }
    ft_buf_init(&b);
    n = ft_otlp_map_unit(&b, &X.res, r, u);
    add_block(&b, n);
    ft_buf_free(&b);
}

void
ft_otlp_run(struct ft_run *r)
{
    struct ft_buf b;
    size_t n;

    if (!X.on) {
        return;
    }
    ft_buf_init(&b);
    n = ft_otlp_map_run(&b, &X.res, r);
    if (n > 0) {
        add_block(&b, n);
    }
    ft_buf_free(&b);
}

size_t
ft_otlp_span_limit(void)
{
    return X.on ? X.span_limit : 0;
}

/* ---- Transfers ------------------------------------------------------------------------- */

static size_t
on_response(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n, room = sizeof(x->resp) - 1 - x->resp_len;

    memcpy(x->resp + x->resp_len, p, len < room ? len : room);
    x->resp_len += len < room ? len : room;
    x->resp[x->resp_len] = '\0';
    return len;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * n;

    if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        char *end;
        long s = strtol(p + 12, &end, 10);
        x->retry_after = end != p + 12 && s >= 0 ? s : -1; /* an HTTP-date: back-off instead */
    }
    return len;
}

static int
start(struct body *b)
{
    struct xfer *x = calloc(1, sizeof(*x));
    CURL *e = curl_easy_init();

    if (x == NULL || e == NULL) {
        free(x);
        if (e != NULL) {
            curl_easy_cleanup(e);
        }
        return -ENOMEM;
    }
    x->easy = e;
    x->body = b;
    x->retry_after = -1;
    curl_easy_setopt(e, CURLOPT_URL, X.url);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, b->data);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)b->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, X.headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "flowtrace-writer/" FT_VERSION);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, X.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, X.timeout_ms < 5000 ? X.timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_response);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    if (curl_multi_add_handle(X.multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        free(x);
        return -EIO;
    }
    for (unsigned i = 0; i < INFLIGHT_MAX; i++) {
        if (X.xfers[i] == NULL) {
            X.xfers[i] = x;
            break;
        }
    }
    b->busy = 1;
    b->attempts++;
    X.inflight++;
    return 0;
}

/* A 2xx may still say some spans were rejected (partialSuccess.rejectedSpans). */
static uint64_t
rejected(const char *resp)
{
    const char *p = strstr(resp, "\"rejectedSpans\"");

    if (p == NULL || (p = strchr(p + 15, ':')) == NULL) {
        return 0;
    }
    p += strspn(p + 1, " \t\"") + 1;
    return strtoull(p, NULL, 10);
}

static int
retryable(CURLcode rc, long status)
{
    return rc != CURLE_OK || status == 429 || status == 502 || status == 503 || status == 504;
}

static void
finished(struct xfer *x, CURLcode rc)
{
    struct body *b = x->body;
    long status = 0;

    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(X.multi, x->easy);
    curl_easy_cleanup(x->easy);
    for (unsigned i = 0; i < INFLIGHT_MAX; i++) {
        if (X.xfers[i] == x) {
            X.xfers[i] = NULL;
        }
    }
    X.inflight--;
    b->busy = 0;
    X.unreachable = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                    rc == CURLE_COULDNT_RESOLVE_PROXY || rc == CURLE_OPERATION_TIMEDOUT;
    if (rc == CURLE_OK && status >= 200 && status < 300) {
        uint64_t bad = rejected(x->resp);
        bad = bad < b->spans ? bad : b->spans;
        X.sent += b->spans - bad;
        X.batches++;
        if (bad > 0) {
            lose(bad, "the collector rejected some spans");
        }
        unlink_body(b);
    } else {
        char why[256];
        if (rc != CURLE_OK) {
            snprintf(why, sizeof(why), "%s", curl_easy_strerror(rc));
        } else {
            snprintf(why, sizeof(why), "HTTP %ld", status);
        }
        /* While the writer stops, a busy collector still gets its back-off (within
         * FLOWTRACE_OTLP_DRAIN); one that is not there is not waited for. */
        if (retryable(rc, status) && b->attempts < ATTEMPTS_MAX && !(X.stopping && X.unreachable)) {
            uint64_t wait = (uint64_t)BACKOFF_MS << (b->attempts - 1);
            if (x->retry_after >= 0) {
                wait = (uint64_t)x->retry_after * 1000;
            }
            wait = wait < BACKOFF_MAX_MS ? wait : BACKOFF_MAX_MS;
            b->due = uv_now(X.loop) + wait;
            snprintf(X.why, sizeof(X.why), "%s", why);
        } else {
            lose(b->spans, why);
            unlink_body(b);
        }
    }
    free(x);
}

static void
check_done(void)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(X.multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE) {
            struct xfer *x = NULL;
            curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            finished(x, m->data.result);
        }
    }
    pump();
}

static void
on_retry_timer(uv_timer_t *t)
{
    (void)t;
    pump();
}

/* Starts what may be sent now; wakes up when the next waiting body is due. */
static void
pump(void)
{
    uint64_t now = uv_now(X.loop), next = UINT64_MAX;

    for (struct body *b = X.head; b != NULL;) {
        struct body *n = b->next;
        if (!b->busy && (b->due <= now || (X.stopping && X.unreachable))) {
            if (X.inflight >= INFLIGHT_MAX) {
                next = now;
                break;
            }
            if (start(b) != 0) {
                lose(b->spans, "cannot start a request");
                unlink_body(b);
            }
        } else if (!b->busy && b->due < next) {
            next = b->due;
        }
        b = n;
    }
    if (next != UINT64_MAX && X.inflight < INFLIGHT_MAX) {
        uv_timer_start(&X.retry_timer, on_retry_timer, next > now ? next - now : 0, 0);
    }
    if (X.stopping && X.head == NULL && X.inflight == 0) {
        uv_timer_stop(&X.deadline); /* all sent or counted: the writer may exit */
    }
}

/* ---- libcurl on libuv ------------------------------------------------------------------ */

static void
on_poll(uv_poll_t *p, int status, int events)
{
    struct sock *s = p->data;
    int running, flags = 0;

    if (status < 0) {
        flags = CURL_CSELECT_ERR;
    }
    flags |= (events & UV_READABLE) ? CURL_CSELECT_IN : 0;
    flags |= (events & UV_WRITABLE) ? CURL_CSELECT_OUT : 0;
    curl_multi_socket_action(X.multi, s->fd, flags, &running);
    check_done();
}

static void
sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static int
on_socket(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    struct sock *s = socketp;
    int events = 0;

    (void)e;
    (void)userp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, sock_closed);
            curl_multi_assign(X.multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL || uv_poll_init_socket(X.loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->fd = fd;
        s->poll.data = s;
        uv_unref((uv_handle_t *)&s->poll);
        curl_multi_assign(X.multi, fd, s);
    }
    events |= (what & CURL_POLL_IN) ? UV_READABLE : 0;
    events |= (what & CURL_POLL_OUT) ? UV_WRITABLE : 0;
    uv_poll_start(&s->poll, events, on_poll);
    return 0;
}

static void
on_curl_timer(uv_timer_t *t)
{
    int running;

    (void)t;
    curl_multi_socket_action(X.multi, CURL_SOCKET_TIMEOUT, 0, &running);
    check_done();
}

static int
on_timer(CURLM *m, long ms, void *userp)
{
    (void)m;
    (void)userp;
    if (ms < 0) {
        uv_timer_stop(&X.curl_timer);
    } else {
        uv_timer_start(&X.curl_timer, on_curl_timer, (uint64_t)ms, 0);
    }
    return 0;
}

/* ---- Settings -------------------------------------------------------------------------- */

static void free_settings(void);

static const char *
env(const char *a, const char *b)
{
    const char *v = getenv(a);

    return v != NULL && v[0] != '\0' ? v : b != NULL ? getenv(b) : NULL;
}

static void
add_header(void *ctx, const char *key, const char *value)
{
    char line[4400];

    (void)ctx;
    snprintf(line, sizeof(line), "%s: %s", key, value);
    X.headers = curl_slist_append(X.headers, line);
}

static void
add_resource(void *ctx, const char *key, const char *value)
{
    char **more = realloc(X.extra, (X.nextra + 1) * 2 * sizeof(*more));

    (void)ctx;
    if (more == NULL) {
        return;
    }
    X.extra = more;
    X.extra[2 * X.nextra] = strdup(key);
    X.extra[2 * X.nextra + 1] = strdup(value);
    if (X.extra[2 * X.nextra] != NULL && X.extra[2 * X.nextra + 1] != NULL) {
        if (strcmp(key, "service.name") == 0 && X.service == NULL) {
            X.service = strdup(value);
        }
        X.nextra++;
    }
}

static int
settings(const char *opt_url, char *why, size_t cap)
{
    const char *v = getenv("FLOWTRACE_OTLP"), *t, *p;
    char *end;

    if ((opt_url == NULL || opt_url[0] == '\0') && v != NULL && strcmp(v, "0") != 0 &&
        strcmp(v, "1") != 0) {
        opt_url = v; /* FLOWTRACE_OTLP=URL */
    }
    if (ft_otlp_endpoint(opt_url, getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
                         getenv("OTEL_EXPORTER_OTLP_ENDPOINT"), X.url, sizeof(X.url)) != 0) {
        snprintf(why, cap, "the collector's URL is too long");
        return -1;
    }
    if (strncmp(X.url, "http://", 7) != 0 && strncmp(X.url, "https://", 8) != 0) {
        snprintf(why, cap, "'%s' is not an http:// or https:// URL", X.url);
        return -1;
    }
    X.timeout_ms = 10000;
    if ((t = env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")) != NULL) {
        X.timeout_ms = strtol(t, &end, 10);
        if (*end != '\0' || X.timeout_ms <= 0) {
            snprintf(why, cap, "OTEL_EXPORTER_OTLP_TIMEOUT='%s' is not milliseconds", t);
            return -1;
        }
    }
    X.span_limit = SPANS_DEFAULT;
    if ((t = getenv("FLOWTRACE_OTLP_SPANS")) != NULL && t[0] != '\0') {
        long n = strtol(t, &end, 10);
        if (*end != '\0' || n < 0 || n > 100000) {
            snprintf(why, cap, "FLOWTRACE_OTLP_SPANS='%s' is not a number of calls (0-100000)", t);
            return -1;
        }
        X.span_limit = (size_t)n;
    }
    X.drain_s = 3;
    if ((t = getenv("FLOWTRACE_OTLP_DRAIN")) != NULL && t[0] != '\0') {
        X.drain_s = strtod(t, &end);
        if (*end != '\0' || X.drain_s < 0) {
            snprintf(why, cap, "FLOWTRACE_OTLP_DRAIN='%s' is not a number of seconds", t);
            return -1;
        }
    }
    if ((p = getenv("OTEL_EXPORTER_OTLP_PROTOCOL")) != NULL && p[0] != '\0' &&
        strcmp(p, "http/json") != 0) {
        fprintf(stderr,
                "flowtrace-writer: OTLP: sending http/json (OTEL_EXPORTER_OTLP_PROTOCOL=%s "
                "is not supported)\n",
                p);
    }
    X.headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (ft_otlp_pairs(env("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS"),
                      add_header, NULL) > 0) {
        fprintf(stderr, "flowtrace-writer: OTLP: malformed entries of OTEL_EXPORTER_OTLP_HEADERS "
                        "left out\n");
    }
    ft_otlp_pairs(getenv("OTEL_RESOURCE_ATTRIBUTES"), add_resource, NULL);
    if ((t = getenv("OTEL_SERVICE_NAME")) != NULL && t[0] != '\0') {
        free(X.service);
        X.service = strdup(t);
    }
    return 0;
}

int
ft_otlp_start(uv_loop_t *loop, const char *opt_url, char *why, size_t cap)
{
    const char *v = getenv("FLOWTRACE_OTLP");

    if (opt_url == NULL && (v == NULL || v[0] == '\0' || strcmp(v, "0") == 0)) {
        return 0;
    }
    if (ft_curl_open(why, cap) != 0) {
        return -1;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(why, cap, "libcurl cannot start");
        return -1;
    }
    why[0] = '\0';
    if (settings(opt_url, why, cap) != 0 || (X.multi = curl_multi_init()) == NULL) {
        if (why[0] == '\0') {
            snprintf(why, cap, "libcurl cannot start");
        }
        free_settings();
        curl_global_cleanup();
        return -1;
    }
    X.loop = loop;
    if (getrandom(&X.res.salt, sizeof(X.res.salt), GRND_NONBLOCK) != sizeof(X.res.salt)) {
        X.res.salt = ft_otlp_mix((uint64_t)(uintptr_t)&X ^ uv_hrtime());
    }
    X.res.service_name = X.service;
    X.res.extra = (const char *const *)X.extra;
    X.res.nextra = X.nextra;
    ft_buf_init(&X.pending);
    curl_multi_setopt(X.multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(X.multi, CURLMOPT_TIMERFUNCTION, on_timer);
    uv_timer_init(loop, &X.curl_timer);
    uv_timer_init(loop, &X.batch_timer);
    uv_timer_init(loop, &X.retry_timer);
    uv_timer_init(loop, &X.deadline);
    /* The export never keeps the writer alive: it has ft_otlp_stop for that. */
    uv_unref((uv_handle_t *)&X.curl_timer);
    uv_unref((uv_handle_t *)&X.batch_timer);
    uv_unref((uv_handle_t *)&X.retry_timer);
    X.on = 1;
    return 1;
}

/* ---- The end --------------------------------------------------------------------------- */

static void
on_deadline(uv_timer_t *t)
{
    (void)t;
    X.stopping = 2; /* out of time: what is left is lost */
    uv_timer_stop(&X.deadline);
}

static void
free_settings(void)
{
    for (size_t i = 0; i < 2 * X.nextra; i++) {
        free(X.extra[i]);
    }
    free(X.extra);
    free(X.service);
    curl_slist_free_all(X.headers);
    X.extra = NULL;
    X.service = NULL;
    X.headers = NULL;
}

void
ft_otlp_stop(void)
{
    if (!X.on) {
        return;
    }
    X.stopping = 1;
    seal();
    if (X.head != NULL || X.inflight > 0) {
        uv_timer_start(&X.deadline, on_deadline, (uint64_t)(X.drain_s * 1000), 0);
        pump();
        uv_run(X.loop, UV_RUN_DEFAULT);
    }
    for (unsigned i = 0; i < INFLIGHT_MAX; i++) {
        struct xfer *x = X.xfers[i];
        if (x != NULL) {
            /* Out of time: abandoned. */
            curl_multi_remove_handle(X.multi, x->easy);
            curl_easy_cleanup(x->easy);
            x->body->busy = 0;
            X.xfers[i] = NULL;
            free(x);
        }
    }
    X.inflight = 0;
    while (X.head != NULL) {
        lose(X.head->spans, X.why[0] != '\0' ? X.why : "the writer stopped before they were sent");
        unlink_body(X.head);
    }
    if (X.lost > 0) {
        uint64_t all = X.lost + X.sent;
        fprintf(stderr, "flowtrace-writer: OTLP: %llu of %llu spans not delivered to %s (%s)\n",
                (unsigned long long)X.lost, (unsigned long long)all, X.url, X.why);
    }
    curl_multi_cleanup(X.multi); /* closes its connections: their polls close too */
    X.multi = NULL;
    uv_close((uv_handle_t *)&X.curl_timer, NULL);
    uv_close((uv_handle_t *)&X.batch_timer, NULL);
    uv_close((uv_handle_t *)&X.retry_timer, NULL);
    uv_close((uv_handle_t *)&X.deadline, NULL);
    uv_run(X.loop, UV_RUN_DEFAULT);
    ft_buf_free(&X.pending);
    free_settings();
    curl_global_cleanup();
    X.on = 0;
}
