/* err.c - text for FlowTrace error codes. */
#include "err.h"

#include <string.h>

const char *
ft_strerror(int code)
{
    switch (code) {
    case FT_EBADMAGIC:
        return "not a FlowTrace stream (bad magic)";
    case FT_EBADVERSION:
        return "unsupported FlowTrace stream version";
    case FT_EBADFRAME:
        return "malformed frame";
    case FT_EBADRECORD:
        return "malformed event record";
    case FT_ETOOBIG:
        return "frame too large";
    case FT_EORDER:
        return "frame out of order";
    case FT_EUNDEFCODE:
        return "event refers to an undefined code id";
    case FT_ETRUNCATED:
        return "stream truncated in the middle of a frame";
    case FT_EBADUSAGE:
        return "bad usage";
    case FT_ENOTFOUND:
        return "not found";
    case FT_EFOREIGN:
        return "not a FlowTrace file";
    default:
        break;
    }
    if (ft_err_is_errno(code)) {
        return strerror(-code);
    }
    return "unknown error";
}
