/* err.h - FlowTrace error codes: negative errno values plus our own FT_E* codes.
 *
 * Every fallible function returns 0 on success or a negative code. Codes are turned
 * into text only at the edge (a tool's main), with ft_strerror().
 */
#ifndef FT_LIB_ERR_H
#define FT_LIB_ERR_H

/* Our own codes sit far from errno's range, as libuv's UV__EOF does. */
#define FT_EBADMAGIC   (-4000) /* a frame does not start with the FlowTrace magic */
#define FT_EBADVERSION (-4001) /* the stream's major version is not one we read */
#define FT_EBADFRAME   (-4002) /* a frame's type or length is not valid */
#define FT_EBADRECORD  (-4003) /* an event record inside a frame is malformed */
#define FT_ETOOBIG     (-4004) /* a frame is longer than FT_FRAME_MAX */
#define FT_EORDER      (-4005) /* frames arrived in an order the protocol forbids */
#define FT_EUNDEFCODE  (-4006) /* an event refers to a code id never defined */
#define FT_ETRUNCATED  (-4007) /* the stream ended in the middle of a frame */
#define FT_EBADUSAGE   (-4008) /* bad command-line usage */
#define FT_ENOTFOUND   (-4009) /* a named run, unit or file does not exist */
#define FT_EFOREIGN    (-4010) /* a file is not a FlowTrace file */

/* Whether code is a negative errno value (the system's), not one of our FT_E* codes. */
static inline int
ft_err_is_errno(int code)
{
    return code < 0 && code > FT_EBADMAGIC;
}

/* Returns a static, human-readable description of code (negative), never NULL. */
const char *ft_strerror(int code);

/* Exit statuses of every FlowTrace command (flowtrace, flowtrace-writer): done, failed,
 * bad usage. */
enum { FT_EXIT_OK = 0, FT_EXIT_FAIL = 1, FT_EXIT_USAGE = 2 };

#endif
