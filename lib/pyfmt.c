/* pyfmt.c - Python's repr() of floats, without Python. */
#include "pyfmt.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The shortest digits that round-trip: digits[] (no dot) and the decimal exponent of the
 * first digit. */
static void
shortest(double d, char digits[20], int *exp10)
{
    char buf[40];

    for (int prec = 0; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec, d);
        if (strtod(buf, NULL) == d) {
            break;
        }
    }
    /* buf is "D.DDDDe+XX" (or "De+XX"): keep the digits, drop trailing zeros. */
    char *e = strchr(buf, 'e');
    size_t n = 0;
    for (char *p = buf; p < e; p++) {
        if (*p >= '0' && *p <= '9') {
            digits[n++] = *p;
        }
    }
    while (n > 1 && digits[n - 1] == '0') {
        n--;
    }
    digits[n] = '\0';
    *exp10 = (int)strtol(e + 1, NULL, 10);
}

size_t
ft_fmt_pyfloat(double d, char out[FT_PYFLOAT_MAX])
{
    char digits[20] = {0}, *o = out;
    int e;
    size_t nd;

    if (isnan(d)) {
        return (size_t)snprintf(out, FT_PYFLOAT_MAX, "nan");
    }
    if (isinf(d)) {
        return (size_t)snprintf(out, FT_PYFLOAT_MAX, d < 0 ? "-inf" : "inf");
    }
    if (signbit(d)) {
        *o++ = '-';
        d = -d;
    }
    if (d == 0) {
        memcpy(o, "0.0", 4);
        return (size_t)(o - out) + 3;
    }
    shortest(d, digits, &e);
    nd = strlen(digits);
    if (e < -4 || e >= 16) {
        /* D[.DDD]e+XX, the exponent with at least two digits */
        *o++ = digits[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, nd - 1);
            o += nd - 1;
        }
        o += snprintf(o, 8, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e < 0) {
        /* 0.000DDD */
        *o++ = '0';
        *o++ = '.';
        for (int i = -1; i > e; i--) {
            *o++ = '0';
        }
        memcpy(o, digits, nd);
        o += nd;
    } else {
        /* DDD.DDD, with ".0" when integral */
        for (int i = 0; i <= e; i++) {
            char c = '0';
            if ((size_t)i < nd) {
                c = digits[i];
            }
            *o++ = c;
        }
        *o++ = '.';
        if ((size_t)e + 1 < nd) {
            memcpy(o, digits + e + 1, nd - (size_t)e - 1);
            o += nd - (size_t)e - 1;
        } else {
            *o++ = '0';
        }
    }
    *o = '\0';
    return (size_t)(o - out);
}
