/* test_untrusted.c - what a hostile stream costs the writer is bounded by what it sent. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "lib/codetab.h"
#include "lib/err.h"

static struct ft_def_view
def(uint64_t id)
{
    struct ft_def_view v = {id, 0, 1, "m", "f", "/f.py", 1, 1, 5, "", 0};

    return v;
}

static void
code_ids_far_beyond_those_defined_are_rejected(void **state)
{
    struct ft_codetab t;
    struct ft_def_view d;

    (void)state;
    ft_codetab_init(&t);
    /* One definition with a huge id would make the table, indexed by id, huge. */
    d = def(FT_CODE_ID_MAX);
    assert_int_equal(ft_codetab_add(&t, &d), FT_EBADFRAME);
    d = def(FT_CODE_ID_SLACK + 1);
    assert_int_equal(ft_codetab_add(&t, &d), FT_EBADFRAME);
    assert_true(t.cap <= 1024);
    /* Ids as the library hands them out, a little out of order, are fine. */
    for (uint64_t id = 1; id <= 3 * FT_CODE_ID_SLACK; id += 2) {
        d = def(id + 1);
        assert_int_equal(ft_codetab_add(&t, &d), 0);
        d = def(id);
        assert_int_equal(ft_codetab_add(&t, &d), 0);
    }
    assert_non_null(ft_codetab_get(&t, 3 * FT_CODE_ID_SLACK));
    ft_codetab_free(&t);
}

static void
a_code_id_defined_twice_is_rejected_and_the_first_stays(void **state)
{
    struct ft_codetab t;
    struct ft_def_view d = def(1);
    const struct ft_code *first;

    (void)state;
    ft_codetab_init(&t);
    assert_int_equal(ft_codetab_add(&t, &d), 0);
    first = ft_codetab_get(&t, 1);
    assert_int_equal(ft_codetab_add(&t, &d), FT_EBADFRAME);
    assert_ptr_equal(ft_codetab_get(&t, 1), first); /* open calls may point at it */
    ft_codetab_free(&t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(code_ids_far_beyond_those_defined_are_rejected),
        cmocka_unit_test(a_code_id_defined_twice_is_rejected_and_the_first_stays),
    };
    return cmocka_run_group_tests_name("untrusted", tests, NULL, NULL);
}
