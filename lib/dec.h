/* dec.h - decimal text of unsigned integers, eight digits at a time (SWAR).
 *
 * For the writer's inner loop, which writes about a dozen numbers per call: a number
 * below 10^8 costs a few multiplications instead of a division per two digits. Each
 * function writes its digits at out and may write up to 8 bytes past them (the caller
 * has reserved that room); it returns the number of digits.
 */
#ifndef FT_LIB_DEC_H
#define FT_LIB_DEC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* v < 10^8 as eight ASCII digits (leading zeros), the first in the lowest byte: v split
 * into 4-digit halves in 32-bit lanes, then 2-digit pairs in 16-bit lanes, then digits in
 * bytes, each step one multiply-shift (x / 100 == x * 10486 >> 20 for x < 43699; x / 10
 * == x * 103 >> 10 for x < 179). */
static inline uint64_t
ft_dec_swar8(uint32_t v)
{
    uint64_t y = (uint64_t)(v / 10000) | ((uint64_t)(v % 10000) << 32);
    uint64_t z = ((y * 10486) >> 20) & 0x0000007F0000007Full;
    uint64_t w = z | ((y - z * 100) << 16);
    uint64_t u = ((w * 103) >> 10) & 0x000F000F000F000Full;

    return (u | ((w - u * 10) << 8)) + 0x3030303030303030ull;
}

/* Number of decimal digits of v (1 for 0). */
static inline unsigned
ft_dec_len(uint64_t v)
{
    static const uint64_t pow10[20] = {1ull,
                                       10ull,
                                       100ull,
                                       1000ull,
                                       10000ull,
                                       100000ull,
                                       1000000ull,
                                       10000000ull,
                                       100000000ull,
                                       1000000000ull,
                                       10000000000ull,
                                       100000000000ull,
                                       1000000000000ull,
                                       10000000000000ull,
                                       100000000000000ull,
                                       1000000000000000ull,
                                       10000000000000000ull,
                                       100000000000000000ull,
                                       1000000000000000000ull,
                                       10000000000000000000ull};
    unsigned t = (unsigned)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;

    return t - (v < pow10[t]) + 1 + (v == 0);
}

/* The last n (1..8) of the eight digits of v < 10^8. */
static inline size_t
ft_dec_tail(char *out, uint32_t v, unsigned n)
{
    uint64_t w = ft_dec_swar8(v) >> (8 * (8 - n));

    memcpy(out, &w, 8);
    return n;
}

/* Two digits "00".."99" of each i < 100. */
extern const char ft_dec_pairs[200];

/* Writes v in decimal at out (which has room for 20 bytes); returns the length. */
size_t ft_fmt_u64(char *out, uint64_t v);

/* ft_dec_u64 for v >= 10000 (out of line: the common small numbers stay inline). */
size_t ft_dec_big(char *out, uint64_t v);

static inline size_t
ft_dec_u64(char *out, uint64_t v)
{
    /* Small numbers (arguments, results, durations) by pairs of digits: a few stores. */
    if (v < 100) {
        if (v < 10) {
            out[0] = (char)('0' + v);
            return 1;
        }
        memcpy(out, ft_dec_pairs + 2 * v, 2);
        return 2;
    }
    if (v < 10000) {
        unsigned hi = (unsigned)v / 100, lo = (unsigned)v % 100;
        if (hi < 10) {
            out[0] = (char)('0' + hi);
            memcpy(out + 1, ft_dec_pairs + 2 * (size_t)lo, 2);
            return 3;
        }
        memcpy(out, ft_dec_pairs + 2 * (size_t)hi, 2);
        memcpy(out + 2, ft_dec_pairs + 2 * (size_t)lo, 2);
        return 4;
    }
    return ft_dec_big(out, v);
}

/* In dec.c. */
static inline size_t
ft_dec_big_inline(char *out, uint64_t v)
{
    if (v < 100000000u) {
        return ft_dec_tail(out, (uint32_t)v, ft_dec_len(v));
    }
    if (v < 10000000000000000ull) {
        uint64_t hi = v / 100000000u;
        size_t n = ft_dec_tail(out, (uint32_t)hi, ft_dec_len(hi));
        uint64_t w = ft_dec_swar8((uint32_t)(v % 100000000u));
        memcpy(out + n, &w, 8);
        return n + 8;
    }
    return ft_fmt_u64(out, v);
}

#endif
