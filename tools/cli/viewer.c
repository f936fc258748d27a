/* viewer.c - the viewer's assets as strings (generated from tools/viewer/ by make). Each
 * ends with "" so that a reader without the generated files (cppcheck) still sees C. */
#include "viewer.h"

#include <stddef.h>

const char ft_viewer_html[] =
#include "viewer.html.cstr"
    "";

const char ft_viewer_css[] =
#include "viewer.css.cstr"
    "";

static const char js_i18n[] =
#include "i18n.js.cstr"
    "";
static const char js_data[] =
#include "data.js.cstr"
    "";
static const char js_format[] =
#include "format.js.cstr"
    "";
static const char js_tree[] =
#include "tree.js.cstr"
    "";
static const char js_search[] =
#include "search.js.cstr"
    "";
static const char js_panels[] =
#include "panels.js.cstr"
    "";
static const char js_source[] =
#include "source.js.cstr"
    "";
static const char js_timeline[] =
#include "timeline.js.cstr"
    "";
static const char js_cursor[] =
#include "cursor.js.cstr"
    "";
static const char js_units[] =
#include "units.js.cstr"
    "";
static const char js_diff[] =
#include "diff.js.cstr"
    "";
static const char js_main[] =
#include "main.js.cstr"
    "";

/* In dependency order: each file uses only what the ones before it define at load time
 * (functions of later files are called only after main.js has run). */
const char *const ft_viewer_js[] = {js_i18n,   js_data,   js_format,   js_tree,   js_search,
                                    js_panels, js_source, js_timeline, js_cursor, js_units,
                                    js_diff,   js_main,   NULL};
