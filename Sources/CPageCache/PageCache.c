#define _GNU_SOURCE
#include "PageCache.h"

#include <sys/uio.h>

int kms_first_byte_cached(int fd) {
    char byte;
    struct iovec vector = {.iov_base = &byte, .iov_len = 1};
    // RWF_NOWAIT: fail with EAGAIN rather than start a read from disk. glibc's preadv2 is not
    // visible to Swift without _GNU_SOURCE, hence this file.
    return preadv2(fd, &vector, 1, 0, RWF_NOWAIT) == 1;
}
