// Skipping a nested JSON value 64 bytes at a time, in the style of simdjson's stage 1: per
// block, bit masks of quotes, backslashes and brackets; escaped quotes from odd runs of
// backslashes; the bytes inside strings by a prefix XOR of the quotes; then only the brackets
// outside strings are counted. About 80% of CloudTrail records are skipped this way, and Swift
// on Linux cannot express the vector compares and bit extraction this needs.
//
// It must end exactly where `JSONScanner.skipNestedScalar` ends (tests compare the two on
// every kind of input), so it follows that loop's rules, not JSON's: only `"`, `\` inside
// strings, and brackets matter; nothing else is checked.
//
// AVX2 only: AVX-512BW was faster on this loop alone but not measurably on ingest
// (BENCHMARKS.md), not worth a second path nor the lower clock some CPUs run 512-bit code at.
#include "ByteScan.h"

#include <string.h>

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>

// Chosen per function, at run time: the rest of the program stays portable x86-64.
#define VECTOR __attribute__((target("avx2,bmi,popcnt,pclmul")))

enum { CONTINUE = -1 };

// One bit per byte of a 64-byte block.
typedef struct {
    uint64_t quote, backslash, open, close;
} block_masks;

// What carries over from one block to the next.
typedef struct {
    long depth, max_depth;
    uint64_t escape_carry;  // 1: the block before ended in an odd run of backslashes
    uint64_t string_carry;  // all ones: the block before ended inside a string
} skip_state;

// '[' | 0x20 is '{' and ']' | 0x20 is '}'; no other byte folds onto either.
VECTOR static inline block_masks classify(const uint8_t *p) {
    block_masks m = {0, 0, 0, 0};
    for (int half = 0; half < 2; half++) {
        __m256i v = _mm256_loadu_si256((const __m256i *)(p + 32 * half));
        __m256i folded = _mm256_or_si256(v, _mm256_set1_epi8(0x20));
        int shift = 32 * half;
        m.quote |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('"'))) << shift;
        m.backslash |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))) << shift;
        m.open |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(folded, _mm256_set1_epi8('{'))) << shift;
        m.close |= (uint64_t)(uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(folded, _mm256_set1_epi8('}'))) << shift;
    }
    return m;
}

// Bit i set when byte i is escaped: it follows an odd-length run of backslashes
// (simdjson's find_escaped). Only right for backslashes inside strings; see `skip_block`.
VECTOR static inline uint64_t escaped_bytes(uint64_t backslash, uint64_t *carry) {
    if (!backslash) {
        uint64_t escaped = *carry;
        *carry = 0;
        return escaped;
    }
    const uint64_t even_bits = 0x5555555555555555ULL;
    backslash &= ~*carry;  // a backslash escaped by the block before starts no escape
    uint64_t follows_backslash = backslash << 1 | *carry;
    // Adding the runs that start on odd bits to all backslashes carries each such run into
    // the byte past it; the parity of where a run starts and ends then says which bytes the
    // run escapes.
    uint64_t odd_starts = backslash & ~even_bits & ~follows_backslash;
    uint64_t even_start_runs;
    *carry = __builtin_add_overflow(odd_starts, backslash, &even_start_runs);
    return (even_bits ^ (even_start_runs << 1)) & follows_backslash;
}

// Bit i = XOR of bits 0...i: carry-less multiplication by all ones.
VECTOR static inline uint64_t prefix_xor(uint64_t x) {
    __m128i product = _mm_clmulepi64_si128(_mm_set_epi64x(0, (long long)x), _mm_set1_epi8((char)0xFF), 0);
    return (uint64_t)_mm_cvtsi128_si64(product);
}

// Applies the block at `base`; CONTINUE when the value goes on past it.
VECTOR static inline int skip_block(skip_state *s, block_masks m, size_t base, size_t *position) {
    uint64_t quote = m.quote & ~escaped_bytes(m.backslash, &s->escape_carry);
    // From each opening quote up to, not including, its closing quote.
    uint64_t in_string = prefix_xor(quote) ^ s->string_carry;
    s->string_carry = (uint64_t)((int64_t)in_string >> 63);
    // Outside strings a backslash escapes nothing, which the masks above do not know: in that
    // (invalid) case, everything up to the first such backslash is right, what follows may
    // not be, and the byte-at-a-time skip decides.
    if (m.backslash & ~in_string) return KMS_SKIP_UNDECIDED;

    uint64_t open = m.open & ~in_string, close = m.close & ~in_string;
    long opens = __builtin_popcountll(open), closes = __builtin_popcountll(close);
    // Most blocks can neither close the value nor pass the limit: count them whole.
    if (s->depth - closes > 0 && s->depth + opens <= s->max_depth) {
        s->depth += opens - closes;
        return CONTINUE;
    }
    for (uint64_t brackets = open | close; brackets; brackets &= brackets - 1) {
        int k = __builtin_ctzll(brackets);
        if (open >> k & 1) {
            if (++s->depth > s->max_depth) {
                *position = base + (size_t)k;
                return KMS_SKIP_TOO_DEEP;
            }
        } else if (--s->depth == 0) {
            *position = base + (size_t)k + 1;
            return KMS_SKIP_DONE;
        }
    }
    return CONTINUE;
}

// The whole blocks, then the last partial one from a copy padded with spaces, so that nothing
// past `end` is read. The state is a local, so that it stays in registers.
VECTOR static int skip_avx2(const uint8_t *p, size_t start, size_t end, long depth, long max_depth,
                            size_t *position) {
    if (start > end) {
        *position = start;
        return KMS_SKIP_NEED_MORE;
    }
    skip_state s = {depth, max_depth, 0, 0};
    size_t at = start;
    for (; end - at >= 64; at += 64) {
        int r = skip_block(&s, classify(p + at), at, position);
        if (r != CONTINUE) return r;
    }
    uint8_t tail[64];
    memset(tail, ' ', sizeof tail);
    memcpy(tail, p + at, end - at);
    int r = skip_block(&s, classify(tail), at, position);
    if (r != CONTINUE) return r;
    // Where a string is left open, the scalar skip stops at its opening quote, which is not
    // tracked here: rare, once per refill of the reader's window.
    if (s.string_carry) return KMS_SKIP_UNDECIDED;
    *position = end;
    return KMS_SKIP_NEED_MORE;
}

bool kms_skip_available(void) {
    // Checked once; a race only computes the same answer twice.
    static int known = -1;
    int available = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (available < 0) {
        available = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
                    __builtin_cpu_supports("popcnt") && __builtin_cpu_supports("pclmul");
        __atomic_store_n(&known, available, __ATOMIC_RELAXED);
    }
    return available;
}

int kms_skip_nested(const uint8_t *p, size_t start, size_t end, long depth, long max_depth, size_t *position) {
    if (!kms_skip_available()) return KMS_SKIP_UNDECIDED;
    return skip_avx2(p, start, end, depth, max_depth, position);
}

#else

bool kms_skip_available(void) { return false; }

int kms_skip_nested(const uint8_t *p, size_t start, size_t end, long depth, long max_depth, size_t *position) {
    (void)p, (void)start, (void)end, (void)depth, (void)max_depth, (void)position;
    return KMS_SKIP_UNDECIDED;
}

#endif
