/* test_walk.c - the exports' walk: pre-order, depths, and times clamped so that every
 * call lies inside its parent and after its previous sibling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tools/cli/walk.h"

static struct ft_node nodes[8];

static struct ft_node *
mk(int i, double start, double dur, struct ft_node *parent, struct ft_node *prev)
{
    struct ft_node *n = &nodes[i];

    memset(n, 0, sizeof(*n));
    n->id = (uint64_t)i;
    n->start_us = start;
    n->dur_us = dur;
    n->parent = parent;
    if (prev != NULL) {
        prev->next = n;
    } else if (parent != NULL) {
        parent->first_child = n;
    }
    return n;
}

static void
calls_come_in_pre_order_with_depths_and_exact_times(void **state)
{
    struct ft_node *a = mk(0, 1.0, 10.0, NULL, NULL);
    struct ft_node *b = mk(1, 2.0, 3.0, a, NULL);
    mk(2, 2.5, 1.0, b, NULL);
    mk(3, 6.0, 4.0, a, b);
    mk(4, 20.0, 1.0, NULL, a);
    struct ft_walk w;
    struct ft_walk_call c;
    const int64_t expect[5][3] = {
        {0, 1000, 11000}, {1, 2000, 5000}, {2, 2500, 3500}, {1, 6000, 10000}, {0, 20000, 21000}};

    (void)state;
    ft_walk_init(&w, a);
    for (int i = 0; i < 5; i++) {
        assert_true(ft_walk_next(&w, &c));
        assert_ptr_equal(c.n, &nodes[i]);
        assert_int_equal(c.depth, expect[i][0]);
        assert_int_equal(c.start_ns, expect[i][1]);
        assert_int_equal(c.end_ns, expect[i][2]);
    }
    assert_false(ft_walk_next(&w, &c));
    assert_false(w.oom);
    ft_walk_close(&w);
}

static void
times_that_do_not_nest_are_clamped(void **state)
{
    struct ft_node *a = mk(0, 1.0, 10.0, NULL, NULL); /* [1000, 11000] */
    struct ft_node *b = mk(1, 0.999, 20.0, a, NULL);  /* starts before, ends after a */
    mk(2, 5.0, 1.0, a, b);                            /* starts inside b */
    mk(3, 0.5, 1.0, NULL, a);                         /* before the previous top call */
    struct ft_walk w;
    struct ft_walk_call c;
    const int64_t expect[4][2] = {{1000, 11000}, {1000, 11000}, {11000, 11000}, {11000, 11000}};

    (void)state;
    ft_walk_init(&w, a);
    for (int i = 0; i < 4; i++) {
        assert_true(ft_walk_next(&w, &c));
        assert_int_equal(c.start_ns, expect[i][0]);
        assert_int_equal(c.end_ns, expect[i][1]);
    }
    assert_false(ft_walk_next(&w, &c));
    ft_walk_close(&w);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calls_come_in_pre_order_with_depths_and_exact_times),
        cmocka_unit_test(times_that_do_not_nest_are_clamped),
    };

    return cmocka_run_group_tests_name("walk", tests, NULL, NULL);
}
