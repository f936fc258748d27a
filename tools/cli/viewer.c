/* viewer.c - the viewer's assets as strings (generated from tools/viewer/ by make). */
#include "viewer.h"

const char ft_viewer_html[] =
#include "viewer.html.cstr"
    ;

const char ft_viewer_css[] =
#include "viewer.css.cstr"
    ;

const char ft_viewer_js[] =
#include "viewer.js.cstr"
    ;
