// See CShimLines.h. Its own file, so the shim's other parts stay untouched.
#include "CShim.h"
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// Bit i of the result is set when p[i] is a newline, for i in 0..<64.
static inline uint64_t newline_mask64(const unsigned char *p) {
#if defined(__SSE2__)
    const __m128i newline = _mm_set1_epi8(0x0A);
    uint64_t m0 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)p), newline));
    uint64_t m1 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 16)), newline));
    uint64_t m2 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 32)), newline));
    uint64_t m3 = (uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + 48)), newline));
    return m0 | m1 << 16 | m2 << 32 | m3 << 48;
#else
    // Exact per-byte zero test of word ^ 0x0A..0A (no false positives),
    // the flags gathered into one byte by a multiply.
    uint64_t mask = 0;
    for (int w = 0; w < 8; w++) {
        uint64_t word;
        memcpy(&word, p + 8 * w, 8);
        word ^= 0x0A0A0A0A0A0A0A0AULL;
        uint64_t nonzero = ((word & 0x7F7F7F7F7F7F7F7FULL) + 0x7F7F7F7F7F7F7F7FULL) | word;
        uint64_t zero = ~nonzero & 0x8080808080808080ULL;
        // Little-endian byte order: byte k's flag becomes bit k.
        uint64_t bits = ((zero >> 7) * 0x0102040810204080ULL) >> 56;
        mask |= bits << (8 * w);
    }
    return mask;
#endif
}

size_t cshim_newline_offsets(const void *base, size_t count, uint32_t *offsets, size_t capacity, size_t *scanned) {
    const unsigned char *p = (const unsigned char *)base;
    size_t found = 0;
    size_t i = 0;
    for (; i + 64 <= count; i += 64) {
        uint64_t mask = newline_mask64(p + i);
        while (mask != 0) {
            if (found == capacity) {
                *scanned = (size_t)offsets[found - 1] + 1;
                return found;
            }
            offsets[found++] = (uint32_t)(i + (size_t)__builtin_ctzll(mask));
            mask &= mask - 1;
        }
    }
    for (; i < count; i++) {
        if (p[i] != 0x0A) continue;
        if (found == capacity) {
            *scanned = (size_t)offsets[found - 1] + 1;
            return found;
        }
        offsets[found++] = (uint32_t)i;
    }
    *scanned = count;
    return found;
}
