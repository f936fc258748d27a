/* test_ownfile.c - files opened in directories others may write: no links followed, no
 * FIFO waited on, no other user's file used. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/ownfile.h"
#include "slurp.h"

static char dir[256], path[512], why[600];

static const char *
in_dir(const char *name)
{
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return path;
}

static int
setup(void **state)
{
    (void)state;
    test_dir_make(dir, sizeof(dir), "ownfile");
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    test_dir_remove(dir);
    return 0;
}

static void
the_users_own_file_is_created_and_opened(void **state)
{
    int fd;

    (void)state;
    assert_int_equal(ft_ownfile_check(in_dir("new"), why, sizeof(why)), 0);
    fd = ft_ownfile_open(in_dir("new"), O_WRONLY | O_CREAT | O_APPEND, 0600, why, sizeof(why));
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "x", 1), 1);
    assert_int_equal(fcntl(fd, F_GETFL) & O_NONBLOCK, 0);
    close(fd);
    assert_int_equal(ft_ownfile_check(in_dir("new"), why, sizeof(why)), 0);
    unlink(in_dir("new"));
}

static void
a_link_is_not_followed(void **state)
{
    char target[512], expect[700];

    (void)state;
    snprintf(target, sizeof(target), "%s/target", dir);
    assert_int_equal(symlink(target, in_dir("link")), 0);
    snprintf(expect, sizeof(expect), "%s is a symbolic link; not followed", path);
    assert_int_equal(ft_ownfile_check(path, why, sizeof(why)), -EPERM);
    assert_string_equal(why, expect);
    assert_int_equal(ft_ownfile_open(path, O_WRONLY | O_CREAT, 0600, why, sizeof(why)), -EPERM);
    assert_string_equal(why, expect);
    assert_int_equal(access(target, F_OK), -1); /* nothing created through it */
    unlink(path);
}

static void
a_fifo_is_refused_without_waiting_for_a_reader(void **state)
{
    (void)state;
    assert_int_equal(mkfifo(in_dir("fifo"), 0600), 0);
    assert_int_equal(ft_ownfile_open(path, O_RDONLY, 0, why, sizeof(why)), -EPERM);
    assert_non_null(strstr(why, "is not a regular file; not used"));
    unlink(path);
}

static void
another_users_file_is_not_used(void **state)
{
    char expect[700];
    int fd;

    (void)state;
    if (geteuid() != 0) {
        skip(); /* only root can give a file away */
    }
    fd = open(in_dir("theirs"), O_WRONLY | O_CREAT, 0666);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(chown(path, 65534, 65534), 0);
    snprintf(expect, sizeof(expect), "%s belongs to another user (uid 65534); not used", path);
    assert_int_equal(ft_ownfile_check(path, why, sizeof(why)), -EPERM);
    assert_string_equal(why, expect);
    assert_int_equal(ft_ownfile_open(path, O_WRONLY | O_APPEND, 0, why, sizeof(why)), -EPERM);
    assert_string_equal(why, expect);
    unlink(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_users_own_file_is_created_and_opened),
        cmocka_unit_test(a_link_is_not_followed),
        cmocka_unit_test(a_fifo_is_refused_without_waiting_for_a_reader),
        cmocka_unit_test(another_users_file_is_not_used),
    };
    return cmocka_run_group_tests_name("ownfile", tests, setup, teardown);
}
