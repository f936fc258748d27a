/* test_diff.c - two executions aligned call by call: equal runs merge, values that differ
 * only by object addresses are equal, a call made in one and not the other costs its
 * subtree, and a unit's own call is compared by its exception only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tools/cli/diff.h"
#include "tools/cli/tree.h"

static struct ft_node nodes[32];
static struct ft_node_extra extras[32];
static struct ft_arg args[32];

/* Node i: fn under parent (appended), with one argument x=value when value is set. */
static struct ft_node *
mk(int i, const char *fn, struct ft_node *parent, const char *value)
{
    struct ft_node *n = &nodes[i];

    memset(n, 0, sizeof(*n));
    n->function = fn;
    n->module = "m";
    n->parent = parent;
    if (value != NULL) {
        memset(&extras[i], 0, sizeof(extras[i]));
        args[i].name = "x";
        args[i].value = value;
        extras[i].args = &args[i];
        extras[i].nargs = 1;
        extras[i].have_args = 1;
        extras[i].active_us = -1;
        n->x = &extras[i];
    }
    if (parent != NULL) {
        if (parent->last_child != NULL) {
            parent->last_child->next = n;
        } else {
            parent->first_child = n;
        }
        parent->last_child = n;
    }
    return n;
}

static void
align(struct ft_node *ra, struct ft_node *rb, struct ft_diff *d, int roots)
{
    struct ft_diff_side a = {0}, b = {0};

    assert_int_equal(ft_diff_side_add(&a, ra), 0);
    assert_int_equal(ft_diff_side_add(&b, rb), 0);
    d->roots_by_exception = roots;
    assert_int_equal(ft_diff_align(&a, &b, d), 0);
    ft_diff_side_free(&a);
    ft_diff_side_free(&b);
}

static void
equal_calls_are_one_op_and_addresses_do_not_count(void **state)
{
    struct ft_node *a = mk(0, "main", NULL, NULL), *b = mk(10, "main", NULL, NULL);
    struct ft_diff d;

    (void)state;
    mk(1, "f", a, "<C object at 0x7f3a2c1b9d50>");
    mk(2, "g", a, "1");
    mk(11, "f", b, "<C object at 0x7f0000000001>");
    mk(12, "g", b, "1");
    align(a, b, &d, 0);
    assert_int_equal(d.nops, 1);
    assert_int_equal(d.ops[0].kind, FT_DIFF_SAME);
    assert_int_equal(d.same, 3);
    assert_int_equal(d.divergences, 0);
    assert_int_equal(d.first, d.nops);
    ft_diff_free(&d);
}

static void
other_values_are_changed_and_a_raise_is_where_they_part(void **state)
{
    struct ft_node *a = mk(0, "main", NULL, NULL), *b = mk(10, "main", NULL, NULL);
    struct ft_diff d;

    (void)state;
    mk(1, "f", a, "1");
    mk(2, "g", a, "2");
    mk(11, "f", b, "5");
    mk(12, "g", b, "2")->exc_type = "ValueError";
    align(a, b, &d, 0);
    assert_int_equal(d.nops, 3);
    assert_int_equal(d.ops[1].kind, FT_DIFF_CHANGED);
    assert_int_equal(d.ops[1].what, FT_DIFF_ARGS);
    assert_int_equal(d.ops[2].kind, FT_DIFF_CHANGED);
    assert_int_equal(d.ops[2].what, FT_DIFF_EXCEPTION);
    assert_int_equal(d.first, 1);
    assert_int_equal(d.parting, 2);
    ft_diff_free(&d);
}

static void
a_call_only_one_side_made_costs_its_subtree_and_they_meet_again(void **state)
{
    struct ft_node *a = mk(0, "main", NULL, NULL), *b = mk(10, "main", NULL, NULL);
    struct ft_diff d;

    (void)state;
    mk(1, "f", a, NULL);
    struct ft_node *extra = mk(2, "retry", a, NULL);
    mk(3, "sleep", extra, NULL);
    mk(4, "f", extra, NULL);
    mk(5, "done", a, NULL);
    mk(11, "f", b, NULL);
    mk(12, "done", b, NULL);
    align(a, b, &d, 0);
    assert_int_equal(d.nops, 3);
    assert_int_equal(d.ops[1].kind, FT_DIFF_ONLY_A);
    assert_int_equal(d.ops[1].a, 2);
    assert_int_equal(d.ops[1].n, 3); /* retry, sleep, f */
    assert_int_equal(d.ops[2].kind, FT_DIFF_SAME);
    assert_int_equal(d.ops[2].a, 5);
    assert_int_equal(d.ops[2].b, 2);
    assert_int_equal(d.parting, 1);
    ft_diff_free(&d);
}

static void
two_different_calls_are_one_only_in_a_then_one_only_in_b(void **state)
{
    struct ft_node *a = mk(0, "main", NULL, NULL), *b = mk(10, "main", NULL, NULL);
    struct ft_diff d;

    (void)state;
    mk(1, "save", a, NULL);
    mk(11, "abort", b, NULL);
    align(a, b, &d, 0);
    assert_int_equal(d.nops, 3);
    assert_int_equal(d.ops[1].kind, FT_DIFF_ONLY_A);
    assert_int_equal(d.ops[2].kind, FT_DIFF_ONLY_B);
    assert_int_equal(d.divergences, 2);
    ft_diff_free(&d);
}

static void
a_units_own_call_is_compared_by_its_exception_only(void **state)
{
    struct ft_node *a = mk(0, "runtestprotocol", NULL, "<Function test_x[1]>");
    struct ft_node *b = mk(10, "runtestprotocol", NULL, "<Function test_x[2]>");
    struct ft_diff d;

    (void)state;
    align(a, b, &d, 1);
    assert_int_equal(d.divergences, 0);
    ft_diff_free(&d);
    align(a, b, &d, 0);
    assert_int_equal(d.divergences, 1);
    ft_diff_free(&d);
}

static void
mask_writes_addresses_as_0x_ellipsis(void **state)
{
    char out[128];

    (void)state;
    assert_string_equal(ft_diff_mask("<A at 0x7f3a2c1b9d50> 0x12 0xdeadbeef", out, sizeof(out)),
                        "<A at 0x\xe2\x80\xa6> 0x12 0x\xe2\x80\xa6");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(equal_calls_are_one_op_and_addresses_do_not_count),
        cmocka_unit_test(other_values_are_changed_and_a_raise_is_where_they_part),
        cmocka_unit_test(a_call_only_one_side_made_costs_its_subtree_and_they_meet_again),
        cmocka_unit_test(two_different_calls_are_one_only_in_a_then_one_only_in_b),
        cmocka_unit_test(a_units_own_call_is_compared_by_its_exception_only),
        cmocka_unit_test(mask_writes_addresses_as_0x_ellipsis),
    };

    return cmocka_run_group_tests_name("diff", tests, NULL, NULL);
}
