/* dec.c - decimal text of integers: the digit-pair table and the out-of-line writers
 * (lib/dec.h). */
#include "dec.h"

const char ft_dec_pairs[200] = "00010203040506070809101112131415161718192021222324"
                               "25262728293031323334353637383940414243444546474849"
                               "50515253545556575859606162636465666768697071727374"
                               "75767778798081828384858687888990919293949596979899";

size_t
ft_dec_big(char *out, uint64_t v)
{
    return ft_dec_big_inline(out, v);
}

size_t
ft_fmt_u64(char *out, uint64_t v)
{
    unsigned n = ft_dec_len(v);
    char *p = out + n;

    /* Two digits per division, written in place from the end: this runs for every number
     * of every output line. */
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        memcpy(p, ft_dec_pairs + 2 * (size_t)r, 2);
    }
    if (v >= 10) {
        memcpy(p - 2, ft_dec_pairs + 2 * (size_t)v, 2);
    } else {
        p[-1] = (char)('0' + v);
    }
    return n;
}
