/* test_idmap.c - frame identities to calls: found, replaced, emptied, purged, grown. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/idmap.h"

static void
put_get_replace_and_delete(void **state)
{
    struct ft_idmap m = {0};
    int a, b;

    (void)state;
    assert_null(ft_idmap_get(&m, 0x7f0010));
    assert_int_equal(ft_idmap_put(&m, 0x7f0010, &a), 0);
    assert_ptr_equal(ft_idmap_get(&m, 0x7f0010), &a);
    assert_int_equal(ft_idmap_put(&m, 0x7f0010, &b), 0);
    assert_ptr_equal(ft_idmap_get(&m, 0x7f0010), &b);
    ft_idmap_del(&m, 0x7f0010);
    assert_null(ft_idmap_get(&m, 0x7f0010));
    ft_idmap_free(&m);
}

static void
many_keys_in_one_probe_chain_survive_growth_and_tombstones(void **state)
{
    struct ft_idmap m = {0};
    static int vals[1000];

    (void)state;
    /* Frame addresses 16 bytes apart, as CPython's frames are. */
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(ft_idmap_put(&m, 0x1000 + 16 * (uint64_t)i, &vals[i]), 0);
    }
    for (int i = 0; i < 1000; i += 2) {
        ft_idmap_del(&m, 0x1000 + 16 * (uint64_t)i);
    }
    for (int i = 0; i < 1000; i++) {
        void *want = i % 2 ? &vals[i] : NULL;
        assert_ptr_equal(ft_idmap_get(&m, 0x1000 + 16 * (uint64_t)i), want);
    }
    ft_idmap_free(&m);
}

static void
purge_empties_every_slot_of_a_value(void **state)
{
    struct ft_idmap m = {0};
    int a, b;

    (void)state;
    ft_idmap_put(&m, 0x100, &a);
    ft_idmap_put(&m, 0x200, &b);
    ft_idmap_put(&m, 0x300, &a);
    ft_idmap_purge(&m, &a);
    assert_null(ft_idmap_get(&m, 0x100));
    assert_null(ft_idmap_get(&m, 0x300));
    assert_ptr_equal(ft_idmap_get(&m, 0x200), &b);
    ft_idmap_free(&m);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_replace_and_delete),
        cmocka_unit_test(many_keys_in_one_probe_chain_survive_growth_and_tombstones),
        cmocka_unit_test(purge_empties_every_slot_of_a_value),
    };
    return cmocka_run_group_tests_name("idmap", tests, NULL, NULL);
}
