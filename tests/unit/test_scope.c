/* test_scope.c - which code is traced: the program's own by default, or as configured. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "inject/scope.h"

static struct ft_list include, exclude, include_path, exclude_path;

static struct ft_scope
scope(void)
{
    struct ft_scope s = {
        &include, &exclude, &include_path, &exclude_path, 0, "/usr/lib/python3.11/", NULL};
    return s;
}

static void
set(struct ft_list *l, const char *a, const char *b)
{
    memset(l, 0, sizeof(*l));
    if (a != NULL) {
        l->item[l->n++] = a;
    }
    if (b != NULL) {
        l->item[l->n++] = b;
    }
}

static int
setup(void **state)
{
    (void)state;
    set(&include, NULL, NULL);
    set(&exclude, NULL, NULL);
    set(&include_path, NULL, NULL);
    set(&exclude_path, NULL, NULL);
    return 0;
}

static void
by_default_the_programs_own_code_only(void **state)
{
    struct ft_scope s = scope();

    (void)state;
    assert_true(ft_scope_in(&s, "app.models", "Order.total", "/src/app/models.py", 1));
    assert_false(ft_scope_in(&s, "json", "dumps", "/usr/lib/python3.11/json/__init__.py", 1));
    assert_false(ft_scope_in(&s, "requests", "get",
                             "/venv/lib/python3.11/site-packages/requests/api.py", 1));
    assert_false(ft_scope_in(&s, "six", "b", "/usr/lib/python3/dist-packages/six.py", 1));
    assert_false(
        ft_scope_in(&s, "importlib._bootstrap", "_find", "<frozen importlib._bootstrap>", 1));
    /* A class body runs once and is left out; a module body is not. */
    assert_false(ft_scope_in(&s, "app", "Order", "/src/app/__init__.py", 0));
    assert_true(ft_scope_in(&s, "app", "<module>", "/src/app/__init__.py", 0));
}

static void
the_main_program_from_c_or_stdin_is_in_scope(void **state)
{
    struct ft_scope s = scope();

    (void)state;
    assert_false(ft_scope_in(&s, "__main__", "f", "<string>", 1));
    s.main_source = "<string>";
    assert_true(ft_scope_in(&s, "__main__", "f", "<string>", 1));
    assert_false(ft_scope_in(&s, "other", "f", "<string>", 1));
    assert_false(ft_scope_in(&s, "__main__", "f", "<stdin>", 1));
}

static void
include_selects_by_dotted_prefix_or_glob_and_keeps_main(void **state)
{
    struct ft_scope s = scope();

    (void)state;
    set(&include, "app", "lib*.core");
    assert_true(ft_scope_in(&s, "app", "f", "/src/app/__init__.py", 1));
    assert_true(ft_scope_in(&s, "app.x", "f", "/src/app/x.py", 1));
    assert_false(ft_scope_in(&s, "apple", "f", "/src/apple.py", 1));
    assert_true(ft_scope_in(&s, "libfoo.core", "f", "/src/libfoo/core.py", 1));
    /* An include reaches into the standard library too. */
    set(&include, "json", NULL);
    assert_true(ft_scope_in(&s, "json", "dumps", "/usr/lib/python3.11/json/__init__.py", 1));
    assert_true(ft_scope_in(&s, "__main__", "main", "/src/run.py", 1));
    assert_false(ft_scope_in(&s, "app", "f", "/src/app/__init__.py", 1));
}

static void
exclude_wins_and_names_modules_classes_or_functions(void **state)
{
    struct ft_scope s = scope();

    (void)state;
    set(&exclude, "app.models.Order", "*.helpers");
    assert_false(ft_scope_in(&s, "app.models", "Order.total", "/src/app/models.py", 1));
    assert_true(ft_scope_in(&s, "app.models", "Customer.name", "/src/app/models.py", 1));
    assert_false(ft_scope_in(&s, "app.helpers", "fmt", "/src/app/helpers.py", 1));
    set(&include, "app", NULL);
    assert_false(ft_scope_in(&s, "app.helpers", "fmt", "/src/app/helpers.py", 1));
    s.all = 1;
    assert_false(ft_scope_in(&s, "app.helpers", "fmt", "/src/app/helpers.py", 1));
}

static void
paths_are_prefixes_when_absolute_else_suffixes(void **state)
{
    struct ft_scope s = scope();

    (void)state;
    set(&exclude_path, "_pb2.py", "/src/vendor/");
    assert_false(ft_scope_in(&s, "app.api_pb2", "f", "/src/app/api_pb2.py", 1));
    assert_false(ft_scope_in(&s, "vendor.x", "f", "/src/vendor/x.py", 1));
    assert_true(ft_scope_in(&s, "app.x", "f", "/src/app/x.py", 1));
    set(&exclude_path, NULL, NULL);
    set(&include_path, "tests/conftest.py", NULL);
    assert_true(ft_scope_in(&s, "conftest", "f", "/src/tests/conftest.py", 1));
    assert_false(ft_scope_in(&s, "app.x", "f", "/src/app/x.py", 1));
}

static void
all_takes_the_standard_library_and_class_bodies(void **state)
{
    struct ft_scope s = scope();

    (void)state;
    s.all = 1;
    assert_true(ft_scope_in(&s, "json", "dumps", "/usr/lib/python3.11/json/__init__.py", 1));
    assert_true(ft_scope_in(&s, "app", "Order", "/src/app/__init__.py", 0));
    assert_true(
        ft_scope_in(&s, "importlib._bootstrap", "_find", "<frozen importlib._bootstrap>", 1));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(by_default_the_programs_own_code_only, setup),
        cmocka_unit_test_setup(the_main_program_from_c_or_stdin_is_in_scope, setup),
        cmocka_unit_test_setup(include_selects_by_dotted_prefix_or_glob_and_keeps_main, setup),
        cmocka_unit_test_setup(exclude_wins_and_names_modules_classes_or_functions, setup),
        cmocka_unit_test_setup(paths_are_prefixes_when_absolute_else_suffixes, setup),
        cmocka_unit_test_setup(all_takes_the_standard_library_and_class_bodies, setup),
    };
    return cmocka_run_group_tests_name("scope", tests, NULL, NULL);
}
