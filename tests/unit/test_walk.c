/* test_walk.c - the exports' walk: pre-order, depths, times clamped so that every
 * ordinary call lies inside its parent and after its previous sibling, and generators and
 * coroutines that ran concurrently with their siblings on lanes of their own. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tools/cli/walk.h"

static struct ft_node nodes[12];
static struct ft_node_extra coro = {.active_us = 1.0};

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

/* Marks a node as a generator or coroutine (its node spans its suspensions). */
static struct ft_node *
suspends(struct ft_node *n)
{
    n->x = &coro;
    return n;
}

struct expect {
    int node, depth, lane, lane_depth, new_lane;
    int64_t start, end;
};

static void
walk_expecting(struct ft_node *first, const struct expect *e, int n)
{
    struct ft_walk w;
    struct ft_walk_call c;

    ft_walk_init(&w, first);
    for (int i = 0; i < n; i++) {
        assert_true(ft_walk_next(&w, &c));
        assert_ptr_equal(c.n, &nodes[e[i].node]);
        assert_int_equal(c.depth, e[i].depth);
        assert_int_equal(c.lane, e[i].lane);
        assert_int_equal(c.lane_depth, e[i].lane_depth);
        assert_int_equal(c.new_lane, e[i].new_lane);
        assert_int_equal(c.start_ns, e[i].start);
        assert_int_equal(c.end_ns, e[i].end);
    }
    assert_false(ft_walk_next(&w, &c));
    assert_false(w.oom);
    ft_walk_close(&w);
}

/* asyncio.gather(work(a), work(b), work(c)): three coroutines started one after the other
 * and suspended at once; each keeps its real times, on its own lane, with its calls. */
static void
gathered_coroutines_keep_their_times_on_lanes_of_their_own(void **state)
{
    struct ft_node *main_ = suspends(mk(0, 0.0, 100.0, NULL, NULL));
    struct ft_node *a = suspends(mk(1, 1.0, 30.0, main_, NULL));
    struct ft_node *b = suspends(mk(3, 2.0, 60.0, main_, a));
    struct ft_node *c = suspends(mk(5, 3.0, 10.0, main_, b));
    const struct expect e[] = {
        {0, 0, 0, 0, 0, 0, 100000},    {1, 1, 1, 0, 1, 1000, 31000},  {2, 2, 1, 1, 0, 30000, 30500},
        {3, 1, 2, 0, 1, 2000, 62000},  {4, 2, 2, 1, 0, 61000, 61500}, {5, 1, 3, 0, 1, 3000, 13000},
        {6, 2, 3, 1, 0, 12000, 12500}, {7, 1, 0, 1, 0, 70000, 71000},
    };

    (void)state;
    mk(2, 30.0, 0.5, a, NULL);
    mk(4, 61.0, 0.5, b, NULL);
    mk(6, 12.0, 0.5, c, NULL);
    mk(7, 70.0, 1.0, main_, c); /* an ordinary call after them: the parent's lane */
    walk_expecting(main_, e, 8);
}

/* A generator consumed in a loop spans the calls its caller makes between its items: they
 * stay on the caller's lane at their own times, the generator goes on a lane of its own. */
static void
a_generator_overlapping_its_callers_calls_moves_to_a_lane(void **state)
{
    struct ft_node *f = mk(0, 0.0, 100.0, NULL, NULL);
    struct ft_node *g = suspends(mk(1, 10.0, 80.0, f, NULL));
    struct ft_node *p1 = mk(3, 20.0, 5.0, f, g);
    const struct expect e[] = {
        {0, 0, 0, 0, 0, 0, 100000},    {1, 1, 1, 0, 1, 10000, 90000}, {2, 2, 1, 1, 0, 11000, 12000},
        {3, 1, 0, 1, 0, 20000, 25000}, {4, 1, 0, 1, 0, 40000, 45000}, {5, 1, 0, 1, 0, 95000, 96000},
    };

    (void)state;
    mk(2, 11.0, 1.0, g, NULL);
    struct ft_node *p2 = mk(4, 40.0, 5.0, f, p1);
    /* A short generator that ends before the next call stays where it is. */
    suspends(mk(5, 95.0, 1.0, f, p2));
    walk_expecting(f, e, 6);
}

/* A task created by a call that returned before the task ran outlives its parent: a lane
 * of its own, reused by a later task once the first has ended. */
static void
a_task_outliving_its_creator_keeps_its_end_and_lanes_are_reused(void **state)
{
    struct ft_node *top = mk(0, 0.0, 100.0, NULL, NULL);
    struct ft_node *spawn = mk(1, 1.0, 2.0, top, NULL);
    struct ft_node *spawn2 = mk(3, 50.0, 2.0, top, spawn);
    const struct expect e[] = {
        {0, 0, 0, 0, 0, 0, 100000},    {1, 1, 0, 1, 0, 1000, 3000},   {2, 2, 1, 0, 1, 2000, 40000},
        {3, 1, 0, 1, 0, 50000, 52000}, {4, 2, 1, 0, 0, 51000, 60000},
    };

    (void)state;
    suspends(mk(2, 2.0, 38.0, spawn, NULL));
    suspends(mk(4, 51.0, 9.0, spawn2, NULL));
    walk_expecting(top, e, 5);
}

/* Work handed to a thread pool ran in another thread, inside its caller's time: a lane of
 * its own anyway, its calls with it. */
static void
work_handed_to_another_thread_goes_on_a_lane_of_its_own(void **state)
{
    static struct ft_node_extra handed = {.active_us = -1, .thread = "AnyIO worker thread"};
    struct ft_node *h = mk(0, 0.0, 100.0, NULL, NULL);
    struct ft_node *w = mk(1, 10.0, 50.0, h, NULL);
    const struct expect e[] = {
        {0, 0, 0, 0, 0, 0, 100000},
        {1, 1, 1, 0, 1, 10000, 60000},
        {2, 2, 1, 1, 0, 20000, 30000},
        {3, 1, 0, 1, 0, 70000, 71000},
    };

    (void)state;
    w->x = &handed;
    mk(2, 20.0, 10.0, w, NULL);
    mk(3, 70.0, 1.0, h, w);
    walk_expecting(h, e, 4);
}

/* An asyncio task created and awaited at once overlaps nothing, yet it ran as a task of
 * its own: a lane of its own, like a plain coroutine awaited in place is not. */
static void
a_task_that_overlaps_nothing_still_has_a_lane_of_its_own(void **state)
{
    static struct ft_node_extra task = {.active_us = 1.0, .task = 1};
    struct ft_node *top = mk(0, 0.0, 100.0, NULL, NULL);
    struct ft_node *t = mk(1, 10.0, 20.0, top, NULL);
    const struct expect e[] = {
        {0, 0, 0, 0, 0, 0, 100000},
        {1, 1, 1, 0, 1, 10000, 30000},
        {2, 2, 1, 1, 0, 12000, 14000},
        {3, 1, 0, 1, 0, 40000, 60000},
    };

    (void)state;
    t->x = &task;
    mk(2, 12.0, 2.0, t, NULL);
    suspends(mk(3, 40.0, 20.0, top, t));
    walk_expecting(top, e, 4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(calls_come_in_pre_order_with_depths_and_exact_times),
        cmocka_unit_test(times_that_do_not_nest_are_clamped),
        cmocka_unit_test(gathered_coroutines_keep_their_times_on_lanes_of_their_own),
        cmocka_unit_test(a_generator_overlapping_its_callers_calls_moves_to_a_lane),
        cmocka_unit_test(a_task_outliving_its_creator_keeps_its_end_and_lanes_are_reused),
        cmocka_unit_test(work_handed_to_another_thread_goes_on_a_lane_of_its_own),
        cmocka_unit_test(a_task_that_overlaps_nothing_still_has_a_lane_of_its_own),
    };

    return cmocka_run_group_tests_name("walk", tests, NULL, NULL);
}
