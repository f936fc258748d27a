/* clock.c - tick sources, anchors and tick -> nanosecond conversion. */
#include "clock.h"

#include <stdio.h>
#include <string.h>

int
ft_clock_tsc_usable(void)
{
#if FT_HAVE_TSC
    FILE *f = fopen("/proc/cpuinfo", "re");
    char line[4096];
    int constant = 0, nonstop = 0;

    if (f == NULL) {
        return 0;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, "flags", 5) == 0) {
            constant = strstr(line, " constant_tsc") != NULL;
            nonstop = strstr(line, " nonstop_tsc") != NULL;
            break;
        }
    }
    fclose(f);
    return constant && nonstop;
#else
    return 0;
#endif
}

void
ft_clock_anchor(int kind, struct ft_anchor *a)
{
    uint64_t best = UINT64_MAX;

    for (int i = 0; i < 5; i++) {
        uint64_t m0 = ft_clock_ns(CLOCK_MONOTONIC);
        uint64_t t = ft_clock_ticks(kind);
        uint64_t r = ft_clock_ns(CLOCK_REALTIME);
        uint64_t m1 = ft_clock_ns(CLOCK_MONOTONIC);
        if (m1 - m0 < best) {
            best = m1 - m0;
            a->ticks = t;
            a->mono_ns = m0 + (m1 - m0) / 2;
            a->real_ns = r;
        }
    }
}

double
ft_clock_calibrate(int kind, unsigned ms)
{
    struct ft_anchor a, b;
    struct timespec ts = {0, (long)ms * 1000000L};

    if (kind != FT_CLOCK_TSC) {
        return 1.0;
    }
    ft_clock_anchor(kind, &a);
    nanosleep(&ts, NULL);
    ft_clock_anchor(kind, &b);
    if (b.ticks <= a.ticks) {
        return 1.0;
    }
    return (double)(b.mono_ns - a.mono_ns) / (double)(b.ticks - a.ticks);
}

void
ft_clockconv_init(struct ft_clockconv *c, int kind, double base_ns_per_tick)
{
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->base_rate = kind == FT_CLOCK_TSC && base_ns_per_tick > 0 ? base_ns_per_tick : 1.0;
    c->ns_per_tick = c->base_rate;
}

void
ft_clockconv_anchor(struct ft_clockconv *c, const struct ft_anchor *a)
{
    if (!c->have_first) {
        c->first = *a;
        c->last = *a;
        c->have_first = 1;
        return;
    }
    if (a->ticks < c->last.ticks) {
        return; /* anchors only move forward; ignore a stale one */
    }
    c->last = *a;
    if (c->kind == FT_CLOCK_TSC && c->last.mono_ns > c->first.mono_ns &&
        c->last.mono_ns - c->first.mono_ns > 1000000000u && c->last.ticks > c->first.ticks) {
        double rate =
            (double)(c->last.mono_ns - c->first.mono_ns) / (double)(c->last.ticks - c->first.ticks);
        /* Anchors come from the stream: a rate no TSC has (1 MHz to 1 THz) is not used. */
        if (rate > 0.001 && rate < 1000.0) {
            c->ns_per_tick = rate;
        }
    }
}

uint64_t
ft_clockconv_ticks_in(const struct ft_clockconv *c, uint64_t ns)
{
    uint64_t t = ft_clock_to_u64((double)ns / c->ns_per_tick);

    return t < UINT64_MAX ? t + 1 : t;
}
