/* test_pylayout.c - reading CPython's layouts in place, on memory laid out as CPython
 * would: ints of both layouts, interpreter frames' code and function, code objects'
 * extras, and the co_extra check. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "inject/pylayout.h"

/* An int object as 3.8-3.11 lay it out (ob_size at 16 signed digit count) or 3.12+
 * (lv_tag at 16: count << 3 | sign), with 30-bit digits from 24. */
static void
make_int(uint8_t *mem, int tagged, int neg, const uint32_t *digits, uint64_t n)
{
    uint64_t head;

    memset(mem, 0, 64);
    if (tagged) {
        head = n << 3 | (n == 0 ? 1u : neg ? 2u : 0u);
    } else {
        head = neg ? 0 - n : n;
    }
    memcpy(mem + 16, &head, 8);
    memcpy(mem + 24, digits, n * 4);
}

static void
ints_of_up_to_two_digits_are_read_in_both_layouts(void **state)
{
    uint8_t mem[64];
    uint32_t d[3] = {5, 3, 1};
    int64_t x = 0;

    (void)state;
    for (int tagged = 0; tagged <= 1; tagged++) {
        ft_pylayout.int_tagged = tagged;
        make_int(mem, tagged, 0, d, 0);
        assert_true(ft_pylong_read((PyObject *)mem, &x));
        assert_int_equal(x, 0);
        make_int(mem, tagged, 1, d, 1);
        assert_true(ft_pylong_read((PyObject *)mem, &x));
        assert_int_equal(x, -5);
        make_int(mem, tagged, 0, d, 2);
        assert_true(ft_pylong_read((PyObject *)mem, &x));
        assert_int_equal(x, 5 + (3LL << 30));
        make_int(mem, tagged, 1, d, 2);
        assert_true(ft_pylong_read((PyObject *)mem, &x));
        assert_int_equal(x, -(5 + (3LL << 30)));
        /* Three digits: the C API's job. */
        make_int(mem, tagged, 0, d, 3);
        assert_false(ft_pylong_read((PyObject *)mem, &x));
        /* One digit, read as sign times digit 0; a zero whose digit 0 holds anything (3.8-
         * 3.11 may not even allocate it) is 0. */
        make_int(mem, tagged, 0, d, 1);
        assert_true(ft_pylong_read((PyObject *)mem, &x));
        assert_int_equal(x, 5);
        make_int(mem, tagged, 0, d, 0);
        memcpy(mem + 24, &d[2], 4);
        assert_true(ft_pylong_read_as((PyObject *)mem, &x, tagged));
        assert_int_equal(x, 0);
    }
}

/* The thread state's thread-local is found only in x86-64's `[endbr64;] mov %fs:disp32,%rax;
 * ret`, the whole of it. */
static void
the_thread_states_slot_is_read_from_the_getters_code_only_when_it_is_exactly_that(void **state)
{
    static const unsigned char plain[] = {0x64, 0x48, 0x8b, 0x04, 0x25,
                                          0xe8, 0xff, 0xff, 0xff, 0xc3};
    static const unsigned char cet[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x64, 0x48, 0x8b,
                                        0x04, 0x25, 0x10, 0xfe, 0xff, 0xff, 0xc3};
    static const unsigned char checked[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x64, 0x48, 0x8b,
                                            0x04, 0x25, 0xe8, 0xff, 0xff, 0xff, 0x48}; /* test */
    static const unsigned char got[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x48, 0x8b, 0x05,
                                        0x00, 0x10, 0x00, 0x00, 0x64, 0x48, 0x8b}; /* shared */

    (void)state;
#if defined(__x86_64__)
    assert_int_equal(ft_pylayout_tls_of(plain, sizeof(plain)), -0x18);
    assert_int_equal(ft_pylayout_tls_of(cet, sizeof(cet)), -0x1f0);
#else
    assert_int_equal(ft_pylayout_tls_of(plain, sizeof(plain)), 0);
#endif
    assert_int_equal(ft_pylayout_tls_of(plain, sizeof(plain) - 1), 0);
    assert_int_equal(ft_pylayout_tls_of(checked, sizeof(checked)), 0);
    assert_int_equal(ft_pylayout_tls_of(got, sizeof(got)), 0);
}

/* A shared libpython's getter asks __tls_get_addr (general dynamic): the tls_index it
 * passes is found only when the code is exactly that access (pyenv's 3.13.0, with and
 * without endbr64 and the stack alignment). */
static void
a_shared_libpythons_thread_state_is_found_through_its_tls_index(void **state)
{
    /* sub $8,%rsp; data16 lea 0x100(%rip),%rdi; data16 data16 rex.W call rel32;
     * mov (%rax),%rax; add $8,%rsp; ret */
    static const unsigned char pyenv[] = {
        0x48, 0x83, 0xec, 0x08, 0x66, 0x48, 0x8d, 0x3d, 0x00, 0x01, 0x00, 0x00, 0x66, 0x66,
        0x48, 0xe8, 0x7c, 0x4f, 0xdf, 0xff, 0x48, 0x8b, 0x00, 0x48, 0x83, 0xc4, 0x08, 0xc3};
    static const unsigned char cet[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x66, 0x48, 0x8d, 0x3d,
                                        0xf0, 0xff, 0xff, 0xff, 0x66, 0x66, 0x48, 0xe8,
                                        0x00, 0x00, 0x00, 0x00, 0x48, 0x8b, 0x00, 0xc3};
    /* The executable's form is the other decoder's, not this one's. */
    static const unsigned char exe[] = {0x64, 0x48, 0x8b, 0x04, 0x25, 0xe8, 0xff,
                                        0xff, 0xff, 0xc3, 0x90, 0x90, 0x90, 0x90,
                                        0x90, 0x90, 0x90, 0x90, 0x90, 0x90, 0x90};
    unsigned char other[sizeof(pyenv)];

    (void)state;
#if defined(__x86_64__)
    assert_int_equal((uintptr_t)ft_pylayout_tls_index_of(pyenv, sizeof(pyenv)),
                     (uintptr_t)pyenv + 12 + 0x100);
    assert_int_equal((uintptr_t)ft_pylayout_tls_index_of(cet, sizeof(cet)),
                     (uintptr_t)cet + 12 - 0x10);
#endif
    assert_null(ft_pylayout_tls_index_of(pyenv, 22)); /* cut before the load */
    memcpy(other, pyenv, sizeof(pyenv));
    other[22] = 0x08; /* mov (%rax),%rcx: not what it returns */
    assert_null(ft_pylayout_tls_index_of(other, sizeof(other)));
    memcpy(other, pyenv, sizeof(pyenv));
    other[15] = 0xe9; /* a jmp, not the call */
    assert_null(ft_pylayout_tls_index_of(other, sizeof(other)));
    memcpy(other, pyenv, sizeof(pyenv));
    other[7] = 0x35; /* lea into %rsi */
    assert_null(ft_pylayout_tls_index_of(other, sizeof(other)));
    assert_null(ft_pylayout_tls_index_of(exe, sizeof(exe)));
}

/* An interpreter frame as each version lays it out: code and function at their offsets
 * (3.11: f_func 0, f_code 32; 3.12, 3.13: f_code/f_executable 0, f_funcobj 16; 3.14 the
 * same as tagged references, low bits set). */
static void
frames_give_their_code_and_function_in_every_layout(void **state)
{
    _Alignas(16) uint8_t code[32], func[32];
    uintptr_t iframe[16];
    uintptr_t c = (uintptr_t)code, f = (uintptr_t)func;

    (void)state;
    memset(iframe, 0, sizeof(iframe));
    ft_pylayout.frames = FT_FRAMES_311;
    iframe[FT_IF311_FUNC / 8] = f;
    iframe[FT_IF311_CODE / 8] = c;
    assert_ptr_equal(ft_iframe_code((const char *)iframe), code);
    assert_ptr_equal(ft_iframe_func((const char *)iframe), func);
    memset(iframe, 0, sizeof(iframe));
    ft_pylayout.frames = FT_FRAMES_312;
    iframe[FT_IF312_CODE / 8] = c;
    iframe[FT_IF312_FUNC / 8] = f;
    assert_ptr_equal(ft_iframe_code((const char *)iframe), code);
    assert_ptr_equal(ft_iframe_func((const char *)iframe), func);
    ft_pylayout.frames = FT_FRAMES_314;
    iframe[FT_IF312_CODE / 8] = c | 1; /* a deferred reference */
    iframe[FT_IF312_FUNC / 8] = f | 1;
    assert_ptr_equal(ft_iframe_code((const char *)iframe), code);
    assert_ptr_equal(ft_iframe_func((const char *)iframe), func);
    ft_pylayout.frames = FT_FRAMES_NONE;
}

/* A code object with an extras block at co_extra (176 on 3.11). */
static struct {
    uint8_t code[256];
    struct {
        Py_ssize_t size;
        void *extras[4];
    } block;
} fake;

static void
put_block(void *block)
{
    memcpy(fake.code + 176, &block, sizeof(block));
}

static void
extras_are_read_from_the_block_and_missing_ones_are_null(void **state)
{
    int ours;

    (void)state;
    ft_pylayout.code_extra = 176;
    put_block(NULL);
    assert_null(ft_code_extra_get((PyObject *)fake.code, 1));
    fake.block.size = 2;
    fake.block.extras[1] = &ours;
    put_block(&fake.block);
    assert_ptr_equal(ft_code_extra_get((PyObject *)fake.code, 1), &ours);
    assert_null(ft_code_extra_get((PyObject *)fake.code, 2)); /* beyond its size */
    /* Slot 0 at a given offset (the engines' constant), without the size check. */
    fake.block.extras[0] = &ours;
    assert_ptr_equal(ft_code_extra_get0((PyObject *)fake.code, FT_CODE311_EXTRA), &ours);
    put_block(NULL);
    assert_null(ft_code_extra_get0((PyObject *)fake.code, FT_CODE311_EXTRA));
    ft_pylayout.code_extra = 0;
}

/* ft_pylayout_init with an API that has nothing: every check fails, no crash; 3.11's
 * co_extra guess is then checked as code objects are interned. */
static void
nothing(void)
{
}
static void
fetch(PyObject **t, PyObject **v, PyObject **tb)
{
    *t = *v = *tb = NULL;
}
static void
restore(PyObject *t, PyObject *v, PyObject *tb)
{
    (void)t;
    (void)v;
    (void)tb;
}
static PyObject *
no_object(const char *name)
{
    (void)name;
    return NULL;
}

/* Times ft_pylayout_changed was called. */
static int extra_changes;
static void
extra_changed(void)
{
    extra_changes++;
}

static void
without_the_api_nothing_is_trusted_and_co_extra_is_checked_where_it_is_written(void **state)
{
    int ci, other;
    void *before;

    (void)state;
    ft_pylayout_changed = extra_changed;
    ft_py.minor = 11;
    ft_py.PyErr_Clear = nothing;
    ft_py.PyErr_Fetch = fetch;
    ft_py.PyErr_Restore = restore;
    ft_py.PySys_GetObject = no_object;
    assert_int_equal(ft_pylayout_init(), -ENOTSUP);
    assert_false(ft_pylayout.header_ok);
    assert_false(ft_pylayout.int_ok);
    assert_false(ft_pylayout.locals_ok);
    assert_false(ft_pylayout.builtins_ok);
    assert_int_equal(ft_pylayout.code_extra, 0);

    /* The block did not exist: it appears at the guess, holding our value. */
    put_block(NULL);
    before = ft_pylayout_code_extra_before((PyObject *)fake.code);
    fake.block.size = 1;
    fake.block.extras[0] = &ci;
    put_block(&fake.block);
    ft_pylayout_code_extra_seen((PyObject *)fake.code, before, 0, &ci);
    assert_int_equal(ft_pylayout.code_extra, 176);
    assert_int_equal(extra_changes, 1); /* the engines are told: they may read it in place */

    /* Another that agrees: nothing changes, nobody is told. */
    put_block(NULL);
    before = ft_pylayout_code_extra_before((PyObject *)fake.code);
    put_block(&fake.block);
    ft_pylayout_code_extra_seen((PyObject *)fake.code, before, 0, &ci);
    assert_int_equal(ft_pylayout.code_extra, 176);
    assert_int_equal(extra_changes, 1);

    /* Another code object whose block holds something else at our index: wrong guess,
     * and reading in place stops for good. */
    put_block(NULL);
    before = ft_pylayout_code_extra_before((PyObject *)fake.code);
    fake.block.extras[0] = &other;
    put_block(&fake.block);
    ft_pylayout_code_extra_seen((PyObject *)fake.code, before, 0, &ci);
    assert_int_equal(ft_pylayout.code_extra, 0);
    assert_int_equal(extra_changes, 2); /* told: an engine reading at the offset stops */
    put_block(NULL);
    before = ft_pylayout_code_extra_before((PyObject *)fake.code);
    fake.block.extras[0] = &ci;
    put_block(&fake.block);
    ft_pylayout_code_extra_seen((PyObject *)fake.code, before, 0, &ci);
    assert_int_equal(ft_pylayout.code_extra, 0);
    assert_int_equal(extra_changes, 2);
    ft_pylayout_changed = NULL;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ints_of_up_to_two_digits_are_read_in_both_layouts),
        cmocka_unit_test(
            the_thread_states_slot_is_read_from_the_getters_code_only_when_it_is_exactly_that),
        cmocka_unit_test(a_shared_libpythons_thread_state_is_found_through_its_tls_index),
        cmocka_unit_test(frames_give_their_code_and_function_in_every_layout),
        cmocka_unit_test(extras_are_read_from_the_block_and_missing_ones_are_null),
        cmocka_unit_test(
            without_the_api_nothing_is_trusted_and_co_extra_is_checked_where_it_is_written),
    };
    return cmocka_run_group_tests_name("pylayout", tests, NULL, NULL);
}
