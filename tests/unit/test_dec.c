/* test_dec.c - decimal text of integers (dec.h) is what printf gives, every length. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>

#include "lib/dec.h"

static void
check(uint64_t v)
{
    char got[48], want[32];
    size_t n = ft_dec_u64(got, v);

    got[n] = '\0';
    snprintf(want, sizeof(want), "%llu", (unsigned long long)v);
    assert_string_equal(got, want);
}

static void
every_length_and_boundary_reads_as_printf_does(void **state)
{
    uint64_t p = 1;

    (void)state;
    check(0);
    check(UINT64_MAX);
    for (int k = 0; k < 20; k++) {
        check(p - 1);
        check(p);
        check(p + 1);
        check(p * 5);
        p *= 10;
    }
}

static void
random_numbers_read_as_printf_does(void **state)
{
    uint64_t x = 88172645463325252ull;

    (void)state;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13; /* xorshift: every bit length, deterministic */
        x ^= x >> 7;
        x ^= x << 17;
        check(x >> (x % 64));
    }
}

static void
eight_digits_keep_their_leading_zeros(void **state)
{
    char got[9];
    uint64_t w = ft_dec_swar8(4207);

    (void)state;
    memcpy(got, &w, 8);
    got[8] = '\0';
    assert_string_equal(got, "00004207");
    w = ft_dec_swar8(99999999);
    memcpy(got, &w, 8);
    assert_string_equal(got, "99999999");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_length_and_boundary_reads_as_printf_does),
        cmocka_unit_test(random_numbers_read_as_printf_does),
        cmocka_unit_test(eight_digits_keep_their_leading_zeros),
    };
    return cmocka_run_group_tests_name("dec", tests, NULL, NULL);
}
