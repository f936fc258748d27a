/* pyfmt.c - Python's repr() of floats, without Python. */
#include "pyfmt.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exact powers of ten (up to 1e22 every one is a double). */
static const double ten_to[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/* The common case without printf (which cost ~2,000 instructions a float, most of a
 * rendered float): d (> 0) is n / 10^k for an integer n < 10^15, checked exactly (n and
 * 10^k are doubles exactly, and the division rounds correctly, so the decimal n * 10^-k
 * reads back as d). A decimal of at most 15 digits survives the round trip through a
 * double (DBL_DIG), so the shortest digits that read back as d are n's without its
 * trailing zeros, whichever such k is found: exactly what the printf search below finds.
 * Returns 0 when d is not such a decimal (too many digits, or out of [1e-5, 1e15)). */
static int
short_decimal(double d, char digits[20], int *exp10)
{
    char tmp[20];
    uint64_t n = 0;
    int k, len = 0;

    if (!(d >= 1e-5 && d < 1e15)) {
        return 0;
    }
    for (k = 0; k <= 20; k++) {
        double m = d * ten_to[k];
        if (m >= 1e15) {
            return 0;
        }
        n = (uint64_t)(m + 0.5);
        if (n != 0 && (double)n / ten_to[k] == d) {
            break;
        }
    }
    if (k > 20) {
        return 0;
    }
    while (n % 10 == 0) {
        n /= 10;
        k--;
    }
    while (n > 0) {
        tmp[len++] = (char)('0' + n % 10);
        n /= 10;
    }
    for (int i = 0; i < len; i++) {
        digits[i] = tmp[len - 1 - i];
    }
    digits[len] = '\0';
    *exp10 = len - 1 - k;
    return 1;
}

/* The shortest digits that round-trip: digits[] (no dot) and the decimal exponent of the
 * first digit. */
static void
shortest(double d, char digits[20], int *exp10)
{
    char buf[40];

    if (short_decimal(d, digits, exp10)) {
        return;
    }
    /* The correctly rounded decimals of 1, 2, ... 17 digits until one reads back as d. A
     * normal double's shortest has at most 15 digits exactly when its 15-digit decimal
     * reads back (DBL_DIG, as above: then that decimal is the shortest padded with
     * zeros), so the search starts there: at most 3 rounds of printf, not 17. */
    for (int prec = d >= DBL_MIN ? 14 : 0; prec < 17; prec++) {
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
