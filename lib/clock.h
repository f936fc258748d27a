/* clock.h - event timestamps: reading ticks (traced process) and converting them (writer).
 *
 * The hook stamps each record with raw ticks: the x86 time-stamp counter when it is
 * invariant (about 11 ns to read here, against 26 ns for clock_gettime under kvm-clock),
 * otherwise CLOCK_MONOTONIC nanoseconds. Anchors (simultaneous samples of ticks and both
 * clocks) travel in the stream; the writer turns ticks into nanoseconds with them.
 */
#ifndef FT_LIB_CLOCK_H
#define FT_LIB_CLOCK_H

#include <stdint.h>
#include <time.h>

#include "wire.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define FT_HAVE_TSC 1
#else
#define FT_HAVE_TSC 0
#endif

static inline uint64_t
ft_clock_ns(clockid_t id)
{
    struct timespec t;

    clock_gettime(id, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Reads the tick counter of the given kind. Hot path: no lock, no allocation. */
static inline uint64_t
ft_clock_ticks(int kind)
{
#if FT_HAVE_TSC
    if (kind == FT_CLOCK_TSC) {
        return __rdtsc();
    }
#endif
    (void)kind;
    return ft_clock_ns(CLOCK_MONOTONIC);
}

/* Whether this CPU has an invariant TSC (constant and non-stop), read from /proc/cpuinfo. */
int ft_clock_tsc_usable(void);

/* Samples an anchor: ticks bracketed by the two clock reads, taking the tightest of a
 * few tries so the pairing error stays in the tens of nanoseconds. */
void ft_clock_anchor(int kind, struct ft_anchor *a);

/* Measures ticks per nanosecond by sampling two anchors `ms` milliseconds apart. */
double ft_clock_calibrate(int kind, unsigned ms);

/* Converts ticks of one process to nanoseconds. */
struct ft_clockconv {
    int kind;
    int have_first;
    struct ft_anchor first; /* the earliest anchor of the run */
    struct ft_anchor last;  /* the latest anchor */
    double ns_per_tick;     /* current rate */
    double base_rate;       /* rate measured by the writer itself (TSC only) */
};

/* base_ns_per_tick: the writer's own calibration (ignored for FT_CLOCK_MONOTONIC). */
void ft_clockconv_init(struct ft_clockconv *c, int kind, double base_ns_per_tick);

/* Adds an anchor; once anchors span more than a second their own rate is used. */
void ft_clockconv_anchor(struct ft_clockconv *c, const struct ft_anchor *a);

/* double -> integer without undefined behaviour: out-of-range values saturate (a hostile
 * stream can make any tick count). */
static inline int64_t
ft_clock_to_i64(double v)
{
    if (!(v > -9.2e18)) {
        return v != v ? 0 : INT64_MIN;
    }
    return v < 9.2e18 ? (int64_t)v : INT64_MAX;
}

static inline uint64_t
ft_clock_to_u64(double v)
{
    if (!(v > 0)) {
        return 0;
    }
    return v < 1.8e19 ? (uint64_t)v : UINT64_MAX;
}

/* Wall-clock nanoseconds since the epoch at the given ticks (inline: the writer converts
 * twice a call). */
static inline uint64_t
ft_clockconv_real_ns(const struct ft_clockconv *c, uint64_t ticks)
{
    int64_t d;

    if (!c->have_first) {
        return 0;
    }
    /* Only the offset goes through floating point: epoch nanoseconds (about 2^61) do not
     * fit a double's mantissa, and the sum must stay exact. */
    d = ft_clock_to_i64((double)(int64_t)(ticks - c->first.ticks) * c->ns_per_tick);
    if (d < 0 && (d == INT64_MIN || (uint64_t)-d > c->first.real_ns)) {
        return 0;
    }
    if (d > 0 && (uint64_t)d > UINT64_MAX - c->first.real_ns) {
        return UINT64_MAX;
    }
    return c->first.real_ns + (uint64_t)d;
}

/* Nanoseconds between two tick values (0 if end precedes start). */
static inline uint64_t
ft_clockconv_span_ns(const struct ft_clockconv *c, uint64_t start, uint64_t end)
{
    if (end <= start) {
        return 0;
    }
    return ft_clock_to_u64((double)(end - start) * c->ns_per_tick + 0.5);
}

/* Ticks in a number of nanoseconds, rounded up; saturates at UINT64_MAX (any rate and
 * duration a stream gives are safe). */
uint64_t ft_clockconv_ticks_in(const struct ft_clockconv *c, uint64_t ns);

#endif
