/* pyfmt.h - text exactly as Python's repr() writes it, for values the tracer renders in C
 * (so rendering an argument never runs Python code). No allocation; usable anywhere. */
#ifndef FT_LIB_PYFMT_H
#define FT_LIB_PYFMT_H

#include <stddef.h>

#define FT_PYFLOAT_MAX 32 /* longest repr(float), with its NUL */

/* repr(d): the shortest text that reads back as d, in fixed notation when the decimal
 * exponent is in [-4, 16) and in exponent notation otherwise ("0.1", "100.0", "1e+16",
 * "1e-05", "-0.0", "inf", "nan"). Writes a NUL-terminated string; returns its length. */
size_t ft_fmt_pyfloat(double d, char out[FT_PYFLOAT_MAX]);

#endif
