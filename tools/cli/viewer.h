/* viewer.h - the HTML viewer's assets (tools/viewer/), compiled into the binary.
 *
 * The Makefile turns each asset into a C string (build/tools/viewer/NAME.cstr, the way
 * uftrace embeds its scripts), so build/flowtrace carries its viewer and needs no files
 * at run time. viewer.html holds three markers, each alone on its line: the CSS, the
 * run's data and the script are written in their place.
 */
#ifndef FT_CLI_VIEWER_H
#define FT_CLI_VIEWER_H

extern const char ft_viewer_html[];
extern const char ft_viewer_css[];
extern const char ft_viewer_js[];

#define FT_VIEWER_MARK_CSS  "/*FT_CSS*/"
#define FT_VIEWER_MARK_DATA "/*FT_DATA*/"
#define FT_VIEWER_MARK_JS   "/*FT_JS*/"

#endif
