/* test_graft.c - a unit's calls put back into its run's tree: under the call named as
 * their caller whose time holds them, in order of start, in the thread of the same id
 * (added when the run lists none). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tools/cli/graft.h"
#include "tools/cli/tree.h"

static struct ft_node nodes[16];
static struct ft_node_extra extras[16];

/* Node i: function fn, [start, start + dur], appended to parent's children (or to the
 * thread's top level). */
static struct ft_node *
mk(struct ft_tree_thread *th, int i, const char *fn, const char *caller, double start, double dur,
   struct ft_node *parent)
{
    struct ft_node *n = &nodes[i];
    struct ft_node **first = parent ? &parent->first_child : &th->first;
    struct ft_node **last = parent ? &parent->last_child : &th->last;

    memset(n, 0, sizeof(*n));
    n->id = (uint64_t)i;
    n->function = fn;
    n->start_us = start;
    n->dur_us = dur;
    n->parent = parent;
    if (caller != NULL) {
        extras[i].caller = caller;
        extras[i].active_us = -1;
        n->x = &extras[i];
    }
    if (*last != NULL) {
        (*last)->next = n;
    } else {
        *first = n;
    }
    *last = n;
    if (parent != NULL) {
        parent->nchildren++;
    }
    th->ncalls++;
    return n;
}

static struct ft_tree_thread *
threads(struct ft_tree *t, size_t n)
{
    memset(t, 0, sizeof(*t));
    t->threads = calloc(n, sizeof(*t->threads));
    t->nthreads = n;
    return t->threads;
}

static void
a_call_goes_under_its_named_caller_in_order_of_start(void **state)
{
    struct ft_tree run, unit;
    struct ft_tree_thread *rt = threads(&run, 1), *ut = threads(&unit, 1);
    struct ft_node *mod = mk(rt, 0, "<module>", NULL, 0, 100, NULL);
    struct ft_node *main_ = mk(rt, 1, "main", "<module>", 1, 90, mod);
    struct ft_node *root;

    (void)state;
    rt->tid = ut->tid = 7;
    mk(rt, 2, "setup", "main", 2, 3, main_);
    mk(rt, 3, "teardown", "main", 60, 3, main_);
    /* The unit ran between them, called by main. */
    mk(ut, 4, "test_x", "main", 10, 20, NULL);
    mk(ut, 5, "helper", "test_x", 11, 2, &nodes[4]);
    assert_int_equal(ft_graft_unit(&run, &unit, &root), 0);
    assert_ptr_equal(root, &nodes[4]);
    assert_ptr_equal(nodes[4].parent, main_);
    assert_ptr_equal(nodes[2].next, &nodes[4]);
    assert_ptr_equal(nodes[4].next, &nodes[3]);
    assert_int_equal(main_->nchildren, 3);
    assert_ptr_equal(nodes[5].parent, &nodes[4]); /* its subtree comes along */
    assert_int_equal(rt->ncalls, 6);
    assert_null(ut->first);
    free(run.threads);
    free(unit.threads);
}

static void
a_call_without_caller_is_a_top_call_of_its_thread_which_is_added_if_missing(void **state)
{
    struct ft_tree run, unit;
    struct ft_tree_thread *rt = threads(&run, 1), *ut = threads(&unit, 1);
    struct ft_node *root;

    (void)state;
    rt->tid = 1;
    rt->name = "MainThread";
    ut->tid = 2;
    ut->name = "Thread-3 (process_request_thread)";
    mk(rt, 0, "<module>", NULL, 0, 100, NULL);
    mk(ut, 1, "Flask.__call__", NULL, 40, 5, NULL);
    assert_int_equal(ft_graft_unit(&run, &unit, &root), 0);
    assert_int_equal(run.nthreads, 2);
    assert_string_equal(run.threads[1].name, "Thread-3 (process_request_thread)");
    assert_ptr_equal(run.threads[1].first, &nodes[1]);
    assert_ptr_equal(run.threads[1].last, &nodes[1]);
    assert_null(nodes[1].parent);
    assert_int_equal(run.threads[1].ncalls, 1);
    free(run.threads);
    free(unit.threads);
}

static void
a_call_named_nowhere_goes_under_the_deepest_call_holding_it(void **state)
{
    struct ft_tree run, unit;
    struct ft_tree_thread *rt = threads(&run, 1), *ut = threads(&unit, 1);
    struct ft_node *root;

    (void)state;
    mk(rt, 0, "<module>", NULL, 0, 100, NULL);
    mk(rt, 1, "serve", "<module>", 10, 80, &nodes[0]);
    mk(rt, 2, "later", "<module>", 95, 1, &nodes[0]);
    mk(ut, 3, "handler", "untraced_dispatch", 20, 5, NULL);
    assert_int_equal(ft_graft_unit(&run, &unit, &root), 0);
    assert_ptr_equal(nodes[3].parent, &nodes[1]);
    assert_ptr_equal(nodes[1].first_child, &nodes[3]);
    assert_ptr_equal(nodes[1].last_child, &nodes[3]);
    free(run.threads);
    free(unit.threads);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_call_goes_under_its_named_caller_in_order_of_start),
        cmocka_unit_test(
            a_call_without_caller_is_a_top_call_of_its_thread_which_is_added_if_missing),
        cmocka_unit_test(a_call_named_nowhere_goes_under_the_deepest_call_holding_it),
    };

    return cmocka_run_group_tests_name("graft", tests, NULL, NULL);
}
