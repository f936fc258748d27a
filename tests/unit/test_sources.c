/* test_sources.c - a run's kept sources: stored once per text under its SHA-256, mapped
 * from each path, listed in tree.json's "sources"; malformed frames refused. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/sources.h"
#include "lib/wire.h"

static char dir[512];

static size_t
frame(uint8_t *out, size_t cap, const char *path, const char *text)
{
    size_t pos = 0;

    if (path != NULL) {
        assert_int_equal(ft_put_tlv_str(out, cap, &pos, FT_TAG_PATH, path, strlen(path)), 0);
    }
    if (text != NULL) {
        assert_int_equal(ft_put_tlv_str(out, cap, &pos, FT_TAG_CONTENT, text, strlen(text)), 0);
    }
    return pos;
}

static size_t
files_in_sources(void)
{
    char path[600];
    struct dirent *e;
    size_t n = 0;
    DIR *d;

    snprintf(path, sizeof(path), "%s/sources", dir);
    if ((d = opendir(path)) == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static void
same_text_stored_once_and_mapped_from_each_path(void **state)
{
    struct ft_sources s;
    struct ft_buf b;
    uint8_t p[256];
    char path[600], text[64] = {0};
    FILE *f;

    (void)state;
    ft_sources_init(&s);
    ft_buf_init(&b);
    assert_int_equal(ft_sources_add(&s, dir, p, frame(p, sizeof(p), "/b/x.py", "print(1)\n")), 0);
    assert_int_equal(ft_sources_add(&s, dir, p, frame(p, sizeof(p), "/a/x.py", "print(1)\n")), 0);
    assert_int_equal(files_in_sources(), 1);
    snprintf(path, sizeof(path), "%s/sources/%s", dir, s.v[0].sha);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fread(text, 1, sizeof(text) - 1, f), 9);
    fclose(f);
    assert_string_equal(text, "print(1)\n");
    ft_sources_put_json(&s, &b);
    ft_buf_putc(&b, '\0');
    /* In path order. */
    char want[300];
    snprintf(want, sizeof(want), ",\"sources\":{\"/a/x.py\":\"%s\",\"/b/x.py\":\"%s\"}", s.v[0].sha,
             s.v[0].sha);
    assert_string_equal(b.p, want);
    assert_int_equal(strlen(s.v[0].sha), 64);
    unlink(path);
    ft_buf_free(&b);
    ft_sources_free(&s);
}

static void
the_hash_is_sha256_of_the_text(void **state)
{
    struct ft_sources s;
    uint8_t p[256];
    char path[600];

    (void)state;
    ft_sources_init(&s);
    assert_int_equal(ft_sources_add(&s, dir, p, frame(p, sizeof(p), "/x.py", "")), 0);
    assert_string_equal(s.v[0].sha,
                        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    snprintf(path, sizeof(path), "%s/sources/%s", dir, s.v[0].sha);
    unlink(path);
    ft_sources_free(&s);
}

static void
a_frame_without_path_or_content_is_refused(void **state)
{
    struct ft_sources s;
    struct ft_buf b;
    uint8_t p[256];

    (void)state;
    ft_sources_init(&s);
    ft_buf_init(&b);
    assert_int_equal(ft_sources_add(&s, dir, p, frame(p, sizeof(p), NULL, "x")), FT_EBADFRAME);
    assert_int_equal(ft_sources_add(&s, dir, p, frame(p, sizeof(p), "/x.py", NULL)), FT_EBADFRAME);
    assert_int_equal(ft_sources_add(&s, dir, p, 3), FT_EBADFRAME); /* cut short */
    ft_sources_put_json(&s, &b);
    assert_int_equal(b.len, 0); /* none: no "sources" at all */
    ft_buf_free(&b);
    ft_sources_free(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(same_text_stored_once_and_mapped_from_each_path),
        cmocka_unit_test(the_hash_is_sha256_of_the_text),
        cmocka_unit_test(a_frame_without_path_or_content_is_refused),
    };
    const char *tmp = getenv("TMPDIR");
    char sub[600];
    int rc;

    snprintf(dir, sizeof(dir), "%s/ft-test-sources-XXXXXX", tmp != NULL ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL) {
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(sub, sizeof(sub), "%s/sources", dir);
    rmdir(sub);
    rmdir(dir);
    return rc;
}
