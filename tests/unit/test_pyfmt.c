/* test_pyfmt.c - floats render exactly as Python's repr() does (vectors from repr()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/pyfmt.h"

static const struct {
    double v;
    const char *repr;
} cases[] = {
    {0.1, "0.1"},
    {1.0, "1.0"},
    {1e+16, "1e+16"},
    {1000000000000000.0, "1000000000000000.0"},
    {1234567890123456.0, "1234567890123456.0"},
    {1.2345678901234568e+16, "1.2345678901234568e+16"},
    {1e-05, "1e-05"},
    {0.0001, "0.0001"},
    {0.00012345, "0.00012345"},
    {-0.0, "-0.0"},
    {2.5, "2.5"},
    {100.0, "100.0"},
    {1e+22, "1e+22"},
    {5e-324, "5e-324"},
    {1.7976931348623157e+308, "1.7976931348623157e+308"},
    {3.141592653589793, "3.141592653589793"},
    {-42.125, "-42.125"},
    {0.3333333333333333, "0.3333333333333333"},
    {123456.789, "123456.789"},
    {9.999999999999999e-05, "9.999999999999999e-05"},
    {0.3, "0.3"},
};

static void
floats_match_python_repr(void **state)
{
    char out[FT_PYFLOAT_MAX];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = ft_fmt_pyfloat(cases[i].v, out);
        assert_string_equal(out, cases[i].repr);
        assert_int_equal(n, strlen(cases[i].repr));
    }
}

static void
non_finite_floats_match_python_repr(void **state)
{
    char out[FT_PYFLOAT_MAX];

    (void)state;
    ft_fmt_pyfloat(INFINITY, out);
    assert_string_equal(out, "inf");
    ft_fmt_pyfloat(-INFINITY, out);
    assert_string_equal(out, "-inf");
    ft_fmt_pyfloat(NAN, out);
    assert_string_equal(out, "nan");
}

/* The shortest digits that read back as d (> 0), the slow sure way: correctly rounded
 * decimals of 1, 2, ... 17 digits until one does (what pyfmt.c did for every float). */
static void
reference_digits(double d, char *digits)
{
    char buf[40];
    size_t n = 0;

    for (int prec = 0; prec < 17; prec++) {
        snprintf(buf, sizeof(buf), "%.*e", prec, d);
        if (strtod(buf, NULL) == d) {
            break;
        }
    }
    for (const char *p = buf; *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9') {
            digits[n++] = *p;
        }
    }
    while (n > 1 && digits[n - 1] == '0') {
        n--;
    }
    digits[n] = '\0';
}

/* The significant digits of a repr: no sign, dot, exponent, leading or trailing zeros. */
static void
repr_digits(const char *repr, char *digits)
{
    size_t n = 0;

    for (const char *p = repr; *p != '\0' && *p != 'e'; p++) {
        if (*p >= '0' && *p <= '9' && (n > 0 || *p != '0')) {
            digits[n++] = *p;
        }
    }
    while (n > 1 && digits[n - 1] == '0') {
        n--;
    }
    digits[n] = '\0';
}

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t
next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void
check_against_reference(double d)
{
    char out[FT_PYFLOAT_MAX], want[24], got[24];

    ft_fmt_pyfloat(d, out);
    assert_true(strtod(out, NULL) == d); /* reads back as d */
    reference_digits(fabs(d), want);
    repr_digits(out, got);
    if (strcmp(want, got) != 0) {
        fail_msg("%.17g: repr %s, digits %s, want %s", d, out, got, want);
    }
}

/* Short decimals (the common floats: 0.5, 1.0, 2.25, 123.456, ...) take a path without
 * printf: the same text as the printf search, for every kind of double around it. */
static void
floats_take_the_shortest_digits_on_every_path(void **state)
{
    (void)state;
    for (int i = 0; i < 200000; i++) {
        uint64_t r = next_random();
        double d;
        switch (i % 5) {
        case 0: /* a decimal of 1 to 17 digits, 10^-8 to 10^17 */
            d = (double)(r % 100000000000000000u >> (r % 50)) / pow(10, (double)((r >> 58) % 26));
            break;
        case 1: { /* any double's bits (finite) */
            memcpy(&d, &r, sizeof(d));
            if (!isfinite(d) || d == 0) {
                continue;
            }
            break;
        }
        case 2: /* integers near 2^53 and 10^15 */
            d = (double)((r & 1 ? 9007199254740992u : 1000000000000000u) - (r >> 40) % 4096);
            break;
        case 3: /* near the fast path's bounds: 1e-5, 1e15 */
            d = nextafter(r & 1 ? 1e-5 : 1e15, r & 2 ? 0 : INFINITY);
            for (uint64_t j = (r >> 8) % 64; j > 0; j--) {
                d = nextafter(d, r & 2 ? 0 : INFINITY);
            }
            break;
        default: /* sums and quotients of short decimals (0.1 + 0.2, 1 / 3) */
            d = (double)(r % 1000) / 10 + (double)(r >> 20 & 1023) / 100;
            if (r & 1) {
                d /= (double)((r >> 40) % 97 + 1);
            }
            break;
        }
        if (d != 0) { /* zero is its own case above */
            check_against_reference(r >> 63 ? -d : d);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(floats_match_python_repr),
        cmocka_unit_test(floats_take_the_shortest_digits_on_every_path),
        cmocka_unit_test(non_finite_floats_match_python_repr),
    };
    return cmocka_run_group_tests_name("pyfmt", tests, NULL, NULL);
}
