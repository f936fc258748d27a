/* test_dirs.c - mkdir -p: parents made, every one 0700 whatever the umask, existing ones
 * fine, a file in the way an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/dirs.h"
#include "slurp.h"

static void
parents_are_made_private_and_existing_ones_are_fine(void **state)
{
    char dir[256], path[512];
    struct stat st;
    mode_t old = umask(0);

    (void)state;
    test_dir_make(dir, sizeof(dir), "dirs");
    snprintf(path, sizeof(path), "%s/a/b/c", dir);
    assert_int_equal(ft_dirs_make(path), 0);
    assert_int_equal(ft_dirs_make(path), 0);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    snprintf(path, sizeof(path), "%s/a", dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0700);
    /* A file where a directory should be. */
    snprintf(path, sizeof(path), "%s/file", dir);
    fclose(fopen(path, "w"));
    snprintf(path, sizeof(path), "%s/file/sub", dir);
    assert_int_equal(ft_dirs_make(path), -ENOTDIR);
    assert_int_equal(ft_dirs_make(""), -ENOENT);
    umask(old);
    test_dir_remove(dir);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parents_are_made_private_and_existing_ones_are_fine),
    };
    return cmocka_run_group_tests_name("dirs", tests, NULL, NULL);
}
