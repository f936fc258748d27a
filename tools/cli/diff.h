/* diff.h - two executions aligned call by call: where they parted.
 *
 * Each side is its calls in pre-order (execution order within a thread), from a list of
 * roots: a unit's call, or every thread's top-level calls in thread order. Two calls
 * match when they are at the same depth below their root and of the same function
 * (module and qualified name: lines may move between versions). Matched calls that
 * differ in arguments, result, exception or the arguments they changed are "changed";
 * values are compared with object addresses (0x...) masked, since they differ between
 * runs. When the functions differ, the subtree that one side has and the other lacks is
 * skipped (the next sibling or the call after it matches again), so a call made in one
 * run and not the other costs its subtree, and the alignment is one linear pass.
 * Nothing here prints or allocates per call beyond the two sequences and the ops.
 */
#ifndef FT_CLI_DIFF_H
#define FT_CLI_DIFF_H

#include <stddef.h>
#include <stdint.h>

struct ft_node;

/* One side: its calls in pre-order, with their depths below their roots. */
struct ft_diff_side {
    struct ft_node **call;
    uint32_t *depth;
    size_t n, cap;
};

/* What differs between two matched calls. */
enum {
    FT_DIFF_ARGS = 1,
    FT_DIFF_RESULT = 2,
    FT_DIFF_EXCEPTION = 4,
    FT_DIFF_AFTER = 8,
    FT_DIFF_UNFINISHED = 16,
    /* the differences that make the calls themselves differ, not only their inputs */
    FT_DIFF_PARTING = FT_DIFF_EXCEPTION | FT_DIFF_UNFINISHED
};

enum ft_diff_kind {
    FT_DIFF_SAME,    /* a and b: the same call, the same values */
    FT_DIFF_CHANGED, /* a and b: the same call, values differ (what) */
    FT_DIFF_ONLY_A,  /* a's call and its subtree (n calls from a), absent from b */
    FT_DIFF_ONLY_B   /* b's call and its subtree (n calls from b), absent from a */
};

struct ft_diff_op {
    enum ft_diff_kind kind;
    size_t a, b; /* positions in the sides (the position reached, for the absent side) */
    size_t n;    /* calls covered: 1, or a subtree's size for ONLY_A/ONLY_B */
    unsigned what;
};

struct ft_diff {
    /* Set before aligning: the values of depth-0 calls are not compared, only their
     * exceptions (a unit's own call is the framework's: pytest's runtestprotocol, a WSGI
     * app; its arguments are the test or the request itself). */
    int roots_by_exception;
    struct ft_diff_op *ops;
    size_t nops, cap;
    size_t same;        /* calls in FT_DIFF_SAME ops */
    size_t first;       /* index of the first op that is not SAME, or nops */
    size_t divergences; /* ops that are not SAME */
    size_t parting;     /* the first op where the calls themselves differ (a call made in
                           one and not the other, or another exception), or nops */
};

/* Appends root and its subtree to s. Returns 0 or -ENOMEM. */
int ft_diff_side_add(struct ft_diff_side *s, struct ft_node *root);

/* Aligns a with b into d (its roots_by_exception set by the caller, the rest
 * overwritten). Returns 0 or -ENOMEM. */
int ft_diff_align(const struct ft_diff_side *a, const struct ft_diff_side *b, struct ft_diff *d);

/* What differs between two calls of the same function (FT_DIFF_* bits; 0: nothing). */
unsigned ft_diff_values(const struct ft_node *a, const struct ft_node *b);

/* Copies s into out with object addresses ("0x" and 6+ hex digits) written "0x…".
 * Returns out. */
char *ft_diff_mask(const char *s, char *out, size_t cap);

void ft_diff_side_free(struct ft_diff_side *s);
void ft_diff_free(struct ft_diff *d);

#endif
