#ifndef KMSINDEX_BYTE_SCAN_H
#define KMSINDEX_BYTE_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/// What `kms_skip_nested` found.
enum {
    /// The value ended: `*position` is just past its closing bracket.
    KMS_SKIP_DONE = 0,
    /// An opening bracket took the depth past `max_depth`: `*position` is that bracket.
    KMS_SKIP_TOO_DEEP = 1,
    /// The bytes ended first, outside any string: `*position` is `end`.
    KMS_SKIP_NEED_MORE = 2,
    /// Not decided here: no vector unit, a backslash outside any string (invalid JSON, which
    /// the caller's byte-at-a-time skip reads its own way), or the bytes ended inside a string
    /// (where that skip stops at the string's opening quote). Use that skip.
    KMS_SKIP_UNDECIDED = 3,
};

/// True when this CPU runs the vector skip (AVX2, BMI1, POPCNT and PCLMULQDQ); when not,
/// `kms_skip_nested` always answers `KMS_SKIP_UNDECIDED`.
bool kms_skip_available(void);

/// Skips to the end of a JSON object or array 64 bytes at a time, as
/// `JSONScanner.skipNestedScalar` does one byte at a time: from `p[start]`, at nesting
/// `depth`, counting brackets outside strings until the depth comes back to 0. Reads no byte
/// at or past `p[end]`.
int kms_skip_nested(const uint8_t *p, size_t start, size_t end, long depth, long max_depth, size_t *position);

#endif
