/* script.h - what a person calls a traced program, from its command line.
 *
 * "app.py" for `python3 path/to/app.py`, "-m pytest" for `python3 -m pytest`, "-c" for
 * `python3 -c CODE`, "<stdin>" when the interpreter reads its program from stdin. The
 * writer puts it in the runs index and the runs file; the CLI names runs with it when
 * there is no index. Nothing here allocates or prints.
 */
#ifndef FT_LIB_SCRIPT_H
#define FT_LIB_SCRIPT_H

#include <stddef.h>
#include <stdint.h>

/* The name from argv (len bytes of NUL-separated arguments, the interpreter first; NULL
 * for none: "?"). Writes at most cap bytes including the NUL. */
void ft_script_name(const char *argv, uint64_t len, char *out, size_t cap);

#endif
