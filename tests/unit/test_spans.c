/* test_spans.c - the bounded set of a unit's calls kept for span exporters. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "lib/spans.h"

static struct ft_span
call(uint64_t id, uint64_t parent, uint32_t depth, uint64_t start)
{
    struct ft_span s = {.id = id, .parent = parent, .depth = depth, .start = start};

    s.end = start + 1;
    return s;
}

/* Offers the calls of a tree in the order they end (callees first). */
static void
offer_tree(struct ft_spans *s, uint64_t *next_id, uint64_t parent, uint32_t depth,
           uint32_t max_depth, uint32_t fanout, uint64_t *clock)
{
    uint64_t id = ++*next_id, start = (*clock)++;

    if (depth < max_depth) {
        for (uint32_t i = 0; i < fanout; i++) {
            offer_tree(s, next_id, id, depth + 1, max_depth, fanout, clock);
        }
    }
    struct ft_span sp = call(id, parent, depth, start);
    assert_int_equal(ft_spans_offer(s, &sp), 0);
}

static void
the_shallowest_calls_are_kept_and_every_callers_caller_too(void **state)
{
    struct ft_spans s;
    uint64_t next = 0, clock = 0;

    (void)state;
    ft_spans_init(&s, 20);
    /* A tree of 1 + 3 + 9 + 27 + 81 calls, depths 1..5. */
    offer_tree(&s, &next, 0, 1, 5, 3, &clock);
    assert_int_equal(s.offered, 121);
    assert_int_equal(s.n, 20);
    ft_spans_sort(&s);
    /* Depths 1-3 whole (13), then the 7 earliest of depth 4. */
    unsigned by_depth[6] = {0};
    for (size_t i = 0; i < s.n; i++) {
        by_depth[s.v[i].depth]++;
        if (s.v[i].parent != 0) {
            int found = 0;
            for (size_t j = 0; j < s.n; j++) {
                found |= s.v[j].id == s.v[i].parent;
            }
            assert_true(found); /* closed under "caller of" */
        }
        assert_true(i == 0 || s.v[i - 1].start < s.v[i].start); /* in order */
    }
    assert_int_equal(by_depth[1], 1);
    assert_int_equal(by_depth[2], 3);
    assert_int_equal(by_depth[3], 9);
    assert_int_equal(by_depth[4], 7);
    assert_int_equal(by_depth[5], 0);
    ft_spans_free(&s);
}

static void
exceptions_are_copied_and_a_zero_limit_only_counts(void **state)
{
    struct ft_spans s;
    char exc[] = "{\"type\":\"KeyError\"}";
    struct ft_span a = call(1, 0, 1, 10), b = call(2, 0, 2, 5);

    (void)state;
    ft_spans_init(&s, 1);
    a.exc = exc;
    assert_int_equal(ft_spans_offer(&s, &b), 0);
    assert_int_equal(ft_spans_offer(&s, &a), 0); /* shallower: b gives way */
    exc[2] = 'X';
    assert_int_equal(s.n, 1);
    assert_int_equal(s.v[0].id, 1);
    assert_string_equal(s.v[0].exc, "{\"type\":\"KeyError\"}");
    assert_int_equal(ft_spans_offer(&s, &b), 0); /* deeper: left out */
    assert_int_equal(s.offered - s.n, 2);
    ft_spans_free(&s);
    ft_spans_init(&s, 0);
    assert_int_equal(ft_spans_offer(&s, &a), 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(s.offered, 1);
    ft_spans_free(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_shallowest_calls_are_kept_and_every_callers_caller_too),
        cmocka_unit_test(exceptions_are_copied_and_a_zero_limit_only_counts),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
