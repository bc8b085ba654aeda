/* streams.json, the state module's one structured file: writing it (for
 * state.c's export) and reading it back (state_read_previous() in state.h).
 * Internal to the state module.
 *
 * Writing goes through atomic-file only; nothing here knows about the
 * manager, the configuration or AWS. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "state.h"

#define STREAMS_JSON "streams.json"

/* Write streams.json in dirfd from v (sorted by region, name), unless only
 * its generated_at would change. Returns 1 if written, 0 if unchanged,
 * negative errno. */
int state_json_write(int dirfd, const struct state_stream *const *v, size_t n, uint64_t now_usec);
