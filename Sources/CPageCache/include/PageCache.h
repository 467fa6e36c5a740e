#ifndef KMSINDEX_PAGE_CACHE_H
#define KMSINDEX_PAGE_CACHE_H

/// 1 when the first byte of the open file `fd` can be read without waiting for the disk (it
/// is in the page cache), 0 when it cannot (or the kernel cannot say: Linux before 4.14).
int kms_first_byte_cached(int fd);

#endif
