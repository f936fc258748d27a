/* test_group.c - sibling calls grouped by function in order of first appearance, the
 * next level grouped over every member, filters applied. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tools/cli/group.h"

static struct ft_node nodes[16];

/* Names are interned by the loader; string literals of one text share a pointer here. */
static struct ft_node *
mk(int i, const char *fn, double dur, struct ft_node *parent)
{
    struct ft_node *n = &nodes[i];

    memset(n, 0, sizeof(*n));
    n->id = (uint64_t)i;
    n->function = fn;
    n->module = "m";
    n->file = "/a.py";
    n->line = (uint32_t)fn[0];
    n->dur_us = dur;
    n->parent = parent;
    if (parent != NULL) {
        if (parent->last_child != NULL) {
            parent->last_child->next = n;
        } else {
            parent->first_child = n;
        }
        parent->last_child = n;
        parent->nchildren++;
    }
    return n;
}

static const char *const A = "a", *const B = "b", *const C = "c";

static void
same_function_siblings_merge_in_first_appearance_order(void **state)
{
    struct ft_node *root = mk(0, "main", 100, NULL);
    struct ft_groups g;

    (void)state;
    mk(1, A, 1, root);
    mk(2, B, 2, root);
    mk(3, A, 3, root)->exc_type = "ValueError";
    mk(4, C, 4, root);
    mk(5, A, 5, root);
    assert_int_equal(ft_group_siblings(&root->first_child, 1, 1, NULL, NULL, &g), 0);
    assert_int_equal(g.n, 3);
    assert_ptr_equal(g.g[0].members[0]->function, A);
    assert_int_equal(g.g[0].n, 3);
    assert_true(g.g[0].total_us == 9);
    assert_int_equal(g.g[0].nfailed, 1);
    assert_ptr_equal(g.g[0].first_failed, &nodes[3]);
    assert_ptr_equal(g.g[0].members[1], &nodes[3]);
    assert_ptr_equal(g.g[0].members[2], &nodes[5]);
    assert_ptr_equal(g.g[1].members[0], &nodes[2]);
    assert_ptr_equal(g.g[2].members[0], &nodes[4]);
    ft_groups_free(&g);
    /* Without merging, one group per call, in order. */
    assert_int_equal(ft_group_siblings(&root->first_child, 1, 0, NULL, NULL, &g), 0);
    assert_int_equal(g.n, 5);
    for (size_t i = 0; i < 5; i++) {
        assert_ptr_equal(g.g[i].members[0], &nodes[i + 1]);
    }
    ft_groups_free(&g);
}

static int
longer_than_2(const struct ft_node *n, void *ctx)
{
    (void)ctx;
    return n->dur_us > 2;
}

static void
the_next_level_groups_over_every_member_and_filters_apply(void **state)
{
    struct ft_node *root = mk(0, "main", 100, NULL);
    struct ft_node *p1 = mk(1, A, 10, root), *p2 = mk(2, A, 10, root);
    struct ft_node *chains[2];
    struct ft_groups g;

    (void)state;
    mk(3, B, 1, p1);
    mk(4, C, 3, p1);
    mk(5, B, 4, p2);
    chains[0] = p1->first_child;
    chains[1] = p2->first_child;
    assert_int_equal(ft_group_siblings(chains, 2, 1, NULL, NULL, &g), 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.g[0].n, 2); /* b under both calls of a */
    assert_true(g.g[0].total_us == 5);
    assert_int_equal(g.g[1].n, 1);
    ft_groups_free(&g);
    assert_int_equal(ft_group_siblings(chains, 2, 1, longer_than_2, NULL, &g), 0);
    assert_int_equal(g.n, 2);
    assert_ptr_equal(g.g[0].members[0], &nodes[4]); /* c comes first now */
    assert_ptr_equal(g.g[1].members[0], &nodes[5]);
    ft_groups_free(&g);
}

static void
no_calls_no_groups(void **state)
{
    struct ft_node *none = NULL;
    struct ft_groups g;

    (void)state;
    assert_int_equal(ft_group_siblings(&none, 1, 1, NULL, NULL, &g), 0);
    assert_int_equal(g.n, 0);
    ft_groups_free(&g);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_function_siblings_merge_in_first_appearance_order),
        cmocka_unit_test(the_next_level_groups_over_every_member_and_filters_apply),
        cmocka_unit_test(no_calls_no_groups),
    };

    return cmocka_run_group_tests_name("group", tests, NULL, NULL);
}
