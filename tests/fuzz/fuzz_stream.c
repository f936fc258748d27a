/* fuzz_stream.c - libFuzzer target: arbitrary bytes through the writer's frame decoder
 * and run builder (lib/wire.c, lib/run.c, lib/calls.c), as a hostile process would send.
 *
 * Input: one control byte, then the stream. The control byte picks how the stream is cut
 * into reads (bits 0-4: chunk size, 0 = all at once; an odd one also opens the decoder's
 * pieces, as the writer's connections do: wire.h), whether the run's output fails
 * part-way (bit 7, after `bits 5-6` frames) as on a full disk, and whether the run is
 * one rebuilt after a writer died (bit 6 alone). Every input is fed exactly as the
 * writer feeds a connection: frames in order until the first error, then the run is
 * finished (files written to a scratch directory, then removed) and freed. The sanitizers
 * (address, undefined, leaks) turn any memory error, UB or leak into a crash.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/run.h"
#include "lib/wire.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(scratch, sizeof(scratch), "/dev/shm/ft-fuzz.XXXXXX");
    if (mkdtemp(scratch) == NULL) {
        snprintf(scratch, sizeof(scratch), "/tmp/ft-fuzz.XXXXXX");
        if (mkdtemp(scratch) == NULL) {
            abort();
        }
    }
    return 0;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    if (ftw->level > 0) {
        remove(path);
    }
    return 0;
}

/* Removes what a run left in the scratch directory (its files, sources/ and units/). */
static void
clear_scratch(void)
{
    nftw(scratch, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ft_run_opts opts = {
        .dir = scratch, .run_id = "fuzz", .tsc_ns_per_tick = 1.0, .copies = 0};
    struct ft_wire_decoder dec;
    struct ft_run_info info;
    struct ft_run *run;
    struct ft_frame f;
    size_t chunk, pos = 0;
    int err = 0, rc = 0, frames = 0, fail_at;
    uint8_t ctl;

    if (size < 1) {
        return 0;
    }
    ctl = data[0];
    data++;
    size--;
    chunk = (ctl & 0x1f) == 0 ? size : (size_t)(ctl & 0x1f) * 7;
    fail_at = (ctl & 0x80) ? 2 + ((ctl >> 5) & 3) : -1;
    if ((run = ft_run_new(&opts)) == NULL) {
        return 0;
    }
    if ((ctl & 0xc0) == 0x40) {
        ft_run_set_recovered(run, "fuzz");
    }
    ft_wire_decoder_init(&dec);
    if ((ctl & 0x1f) % 2 == 1) {
        ft_wire_decoder_open(&dec); /* the writer's connections: pieces hand out all held */
    }
    while (err == 0 && pos < size) {
        size_t n = size - pos < chunk ? size - pos : chunk;
        err = ft_wire_decoder_feed(&dec, data + pos, n);
        pos += n;
        while (err == 0 && (rc = ft_wire_next_frame(&dec, &f)) == 1) {
            if (frames++ == fail_at) {
                ft_run_fail(run, -ENOSPC);
            }
            uint32_t len = f.hdr.len;
            err = ft_run_frame(run, &f);
            ft_wire_decoder_unread(&dec, len - f.hdr.len);
            /* The writer goes on counting after an output error, and stops at any
             * other. */
            if (err > -4000 && err < 0 && err != -ENOMEM) {
                err = 0;
            }
        }
        if (err == 0 && rc < 0) {
            err = rc;
        }
    }
    if (err == 0 && ft_wire_decoder_pending(&dec) > 0) {
        err = FT_ETRUNCATED;
    }
    ft_run_finish(run, FT_END_KILLED, err != 0 ? ft_strerror(err) : NULL);
    ft_run_get_info(run, &info);
    ft_wire_decoder_close(&dec);
    ft_run_free(run);
    clear_scratch();
    return 0;
}
