/* settings.h - every user setting of FlowTrace: its option, its FLOWTRACE_* variable, the
 * kind and range of its value, and the one parser of each kind.
 *
 * flowtrace-run turns its options into FLOWTRACE_* variables with this table, and the
 * library reads those variables with the same parsers, so that a value means the same
 * thing, and is refused for the same reason, on both paths. Pure: no getenv, no printing.
 */
#ifndef FT_LIB_SETTINGS_H
#define FT_LIB_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

enum ft_setting_kind {
    FT_SET_BOOL,    /* 1/true/yes/on or 0/false/no/off, any case; empty = the default */
    FT_SET_UINT,    /* a whole number from lo to hi */
    FT_SET_NUMBER,  /* a decimal number from lo to hi, in `unit` (seconds, microseconds) */
    FT_SET_ENUM,    /* one of `choices` ("failed|all") */
    FT_SET_TEXT,    /* any text: a path, a comma-separated list */
    FT_SET_UNITS,   /* comma-separated MODULE:FUNCTION names */
    FT_SET_COMMAND, /* an option of flowtrace-run that takes no value (--help, --version) */
};

/* flags */
#define FT_SET_INVERT  1u /* the option sets the variable to the opposite (--no-children) */
#define FT_SET_APPEND  2u /* repeatable: values are joined with commas */
#define FT_SET_ZEROOFF 4u /* NUMBER: 0 or less means "off", whatever lo says */
#define FT_SET_SWITCH                                                                              \
    8u /* ENUM: the option alone sets the last choice (--manual:
                           * FLOWTRACE_START=manual); =true/=false the last/the first */
#define FT_SET_OPTVAL                                                                              \
    16u /* TEXT: the option alone sets "1"; a value only as --name=VALUE
                            * (--otlp, --otlp=URL), so it never takes the command */

struct ft_setting {
    const char *option;  /* "--max-depth"; NULL: environment only */
    const char *env;     /* "FLOWTRACE_MAX_DEPTH"; NULL: flowtrace-run's own */
    const char *unit;    /* NUMBER: "seconds", "microseconds" */
    const char *choices; /* ENUM: "failed|all" */
    double lo, hi;       /* UINT, NUMBER */
    enum ft_setting_kind kind;
    unsigned flags;
    char short_name; /* 'o' for -o, or 0 */
};

/* A parsed value. `text` borrows the text given (valid as long as it is). */
struct ft_setting_value {
    int on;     /* BOOL (after FT_SET_INVERT when parsed as an option) */
    uint64_t u; /* UINT */
    double d;   /* NUMBER (0 when off) */
    int choice; /* ENUM: index into choices */
    const char *text;
};

/* The table, ended by an entry whose option and env are both NULL. */
extern const struct ft_setting ft_settings[];

/* The setting of option name ("--max-depth", or "-o" for a short one), or of variable
 * name ("FLOWTRACE_MAX_DEPTH"). NULL if there is none. */
const struct ft_setting *ft_setting_by_option(const char *name);
const struct ft_setting *ft_setting_by_env(const char *name);

/* Parses text as a value of s into *v. Returns 0, or -EINVAL if text is not one (then
 * ft_setting_want() says what it must be). Text is never empty here: an empty variable
 * is the caller's "not set". */
int ft_setting_parse(const struct ft_setting *s, const char *text, struct ft_setting_value *v);

/* What a value of s must be, for messages: "a whole number from 0 to 1000000",
 * "'failed' or 'all'". Returns out. */
const char *ft_setting_want(const struct ft_setting *s, char *out, size_t cap);

/* Whether the option of s stands alone (a switch: --drop, --manual, --otlp): a value only
 * as --name=VALUE. */
int ft_setting_is_switch(const struct ft_setting *s);

/* Whether text may be the value of s when it follows the option as the next argument
 * (`--keep failed`, `--max-depth 3`): a choice of an ENUM, something that starts like a
 * number for UINT/NUMBER, anything for TEXT/UNITS. A BOOL takes a value only as
 * `--name=value`. This is what keeps `--keep python3 app.py` from taking the command. */
int ft_setting_takes(const struct ft_setting *s, const char *text);

#endif
