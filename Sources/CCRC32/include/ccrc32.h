#ifndef KMSINDEX_CCRC32_H
#define KMSINDEX_CCRC32_H
#include <stddef.h>
#include <stdint.h>

/// The gzip CRC-32 (reflected polynomial 0xEDB88320) of `len` bytes at `buf`, continuing from
/// `crc` (0 to start): the same value as zlib's `crc32(crc, buf, len)`, so calls chain alike.
/// Uses carry-less multiplication (PCLMULQDQ) when the CPU has it, zlib's `crc32` otherwise.
uint32_t kmsindex_crc32(uint32_t crc, const uint8_t *buf, size_t len);

#endif
