// Block newline scan for `ringbench pub` (lines framing): every newline of a
// buffer found in one pass, 64 bytes per step (SSE2 compare and bitmask on
// x86-64, 8-byte words elsewhere), instead of one search per line. Included by
// CShim.h; implemented in lines.c.
#ifndef CSHIM_LINES_H
#define CSHIM_LINES_H

#include <stddef.h>
#include <stdint.h>

// Stores the offsets of the bytes 0x0A in base[0..<count], in order, into
// offsets[0..<capacity] (count must be below 2^32, capacity at least 1).
// Returns how many it stored. *scanned: how many bytes at the start of
// base it searched completely, so every newline before it is stored: count,
// or, when `offsets` filled up, one past the last newline stored. Reads only
// base[0..<count].
size_t cshim_newline_offsets(const void *base, size_t count, uint32_t *offsets, size_t capacity, size_t *scanned);

#endif
