#ifndef KMSINDEX_CISAL_SHIM_H
#define KMSINDEX_CISAL_SHIM_H
// ISA-L's igzip (Debian's libisal-dev): a streaming inflate much faster than zlib's on
// x86-64 (BENCHMARKS.md), with the same gzip semantics (header, CRC-32 and length checked).
#include <isa-l/igzip_lib.h>
#endif
