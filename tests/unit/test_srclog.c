/* test_srclog.c - the sources log: each file with traced code sent once with its text,
 * within the bounds; again after fork; a failed send is retried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "inject/srclog.h"
#include "lib/wire.h"

/* What send() received: each frame's PATH and CONTENT. */
static struct {
    char paths[8][256];
    size_t lens[8];
    char first[64];
    int n, fail;
} got;

static int
collect(const uint8_t *p, size_t n, void *arg)
{
    const uint8_t *val;
    uint32_t tag, len;
    size_t pos = 0;

    (void)arg;
    if (got.fail) {
        return -EPIPE;
    }
    while (ft_tlv_next(p, n, &pos, &tag, &val, &len) == 1) {
        if (tag == FT_TAG_PATH) {
            snprintf(got.paths[got.n], sizeof(got.paths[0]), "%.*s", (int)len, (const char *)val);
        } else if (tag == FT_TAG_CONTENT) {
            got.lens[got.n] = len;
            if (got.n == 0) {
                snprintf(got.first, sizeof(got.first), "%.*s", (int)len, (const char *)val);
            }
        }
    }
    assert_int_equal(pos, n);
    got.n++;
    return 0;
}

static char dir[256];

static void
write_file(const char *name, size_t size, char *path, size_t cap)
{
    FILE *f;

    snprintf(path, cap, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("def f():\n    return 1\n", f);
    for (size_t i = 22; i < size; i++) {
        fputc('#', f);
    }
    fclose(f);
}

static int
setup(void **state)
{
    (void)state;
    memset(&got, 0, sizeof(got));
    ft_srclog_reset();
    return 0;
}

static void
each_file_is_sent_once_with_its_text(void **state)
{
    char a[512], b[512];

    (void)state;
    write_file("a.py", 22, a, sizeof(a));
    write_file("b.py", 100, b, sizeof(b));
    ft_srclog_note(a);
    ft_srclog_note(a); /* a second code object of the same file */
    ft_srclog_note(b);
    ft_srclog_note("<string>");    /* generated: nothing to read */
    ft_srclog_note("relative.py"); /* by a relative name: passed over */
    assert_int_equal(ft_srclog_send(collect, NULL), 0);
    assert_int_equal(got.n, 2);
    assert_string_equal(got.paths[0], a);
    assert_string_equal(got.first, "def f():\n    return 1\n");
    assert_string_equal(got.paths[1], b);
    assert_int_equal(got.lens[1], 100);
    assert_int_equal(ft_srclog_send(collect, NULL), 0);
    assert_int_equal(got.n, 2); /* nothing new */
    unlink(a);
    unlink(b);
}

static void
over_the_bounds_or_unreadable_is_passed_over(void **state)
{
    char big[512], gone[512], ok[512];

    (void)state;
    write_file("big.py", FT_SRCLOG_FILE_MAX + 1, big, sizeof(big));
    write_file("gone.py", 30, gone, sizeof(gone));
    write_file("ok.py", 30, ok, sizeof(ok));
    unlink(gone);
    ft_srclog_note(big);
    ft_srclog_note(gone);
    ft_srclog_note(dir); /* a directory */
    ft_srclog_note(ok);
    assert_int_equal(ft_srclog_send(collect, NULL), 0);
    assert_int_equal(got.n, 1);
    assert_string_equal(got.paths[0], ok);
    unlink(big);
    unlink(ok);
}

static void
a_failed_send_is_retried_and_a_child_sends_all_again(void **state)
{
    char a[512];

    (void)state;
    write_file("a.py", 22, a, sizeof(a));
    ft_srclog_note(a);
    got.fail = 1;
    assert_int_equal(ft_srclog_send(collect, NULL), -EPIPE);
    got.fail = 0;
    assert_int_equal(ft_srclog_send(collect, NULL), 0);
    assert_int_equal(got.n, 1);
    ft_srclog_atfork_child();
    assert_int_equal(ft_srclog_send(collect, NULL), 0);
    assert_int_equal(got.n, 2);
    ft_srclog_resend();
    assert_int_equal(ft_srclog_send(collect, NULL), 0);
    assert_int_equal(got.n, 3);
    unlink(a);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(each_file_is_sent_once_with_its_text, setup),
        cmocka_unit_test_setup(over_the_bounds_or_unreadable_is_passed_over, setup),
        cmocka_unit_test_setup(a_failed_send_is_retried_and_a_child_sends_all_again, setup),
    };
    int rc;

    const char *tmp = getenv("TMPDIR");

    snprintf(dir, sizeof(dir), "%s/ft-test-srclog-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir); /* each test removes its files */
    return rc;
}
