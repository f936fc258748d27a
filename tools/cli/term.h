/* term.h - text from a trace made safe to print on a terminal.
 *
 * Everything a traced program chose (exception messages, argument values, argv, thread
 * and function names) may hold control characters: ESC starts sequences that recolour,
 * move the cursor, retitle the window or write the clipboard (OSC 52), CR overwrites the
 * line, BEL rings. Before it reaches a terminal, each C0 control, DEL and C1 control
 * (U+0080-U+009F) is written as a visible escape: \n \r \t \e, else \xHH or \u00HH;
 * a backslash stays itself. Bytes that are not UTF-8 become \xHH too. Nothing else
 * changes, so ordinary text, accents and emoji print as they are.
 */
#ifndef FT_CLI_TERM_H
#define FT_CLI_TERM_H

#include <stddef.h>

#include "lib/buf.h"

/* Appends s, escaped, cut after max characters (0: no limit) with "…" when cut. Returns
 * the number of characters written (an escape counts as one). */
size_t ft_term_put(struct ft_buf *b, const char *s, size_t max);

/* Appends where code is for people, escaped: the file's name and the line ("shop.py:12");
 * a package's __init__.py or __main__.py keeps its directory ("pricing/__init__.py:1"),
 * since every package has one. file NULL is "?". */
void ft_term_where(struct ft_buf *b, const char *file, unsigned line);

/* Whether s holds anything ft_term_put would escape. */
int ft_term_needs_escape(const char *s);

#endif
