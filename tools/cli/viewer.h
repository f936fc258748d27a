/* viewer.h - the HTML viewer's assets (tools/viewer/), compiled into the binary.
 *
 * The Makefile turns each asset into a C string (build/tools/viewer/NAME.cstr, the way
 * uftrace embeds its scripts), so build/flowtrace carries its viewer and needs no files
 * at run time. viewer.html holds three markers, each alone on its line: the CSS, the
 * run's data and the script are written in their place. The script is the files of
 * ft_viewer_js, in that order, in one function scope (each file's first lines say what
 * it defines and what it uses from the files before it).
 */
#ifndef FT_CLI_VIEWER_H
#define FT_CLI_VIEWER_H

extern const char ft_viewer_html[];
extern const char ft_viewer_css[];

/* The script's files, in order; NULL-terminated. */
extern const char *const ft_viewer_js[];

#define FT_VIEWER_MARK_CSS  "/*FT_CSS*/"
#define FT_VIEWER_MARK_DATA "/*FT_DATA*/"
#define FT_VIEWER_MARK_JS   "/*FT_JS*/"

#endif
