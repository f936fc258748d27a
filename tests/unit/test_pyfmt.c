/* test_pyfmt.c - floats render exactly as Python's repr() does (vectors from repr()). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <math.h>

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

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(floats_match_python_repr),
        cmocka_unit_test(non_finite_floats_match_python_repr),
    };
    return cmocka_run_group_tests_name("pyfmt", tests, NULL, NULL);
}
