/*
 * struct iovec helpers (system/iov.h).
 * Threads: pure functions, any thread.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <glib.h>

#include "system/iov.h"

size_t iov_size(const struct iovec *iov, unsigned cnt)
{
    size_t n = 0;

    for (unsigned i = 0; i < cnt; i++) {
        n += iov[i].iov_len;
    }
    return n;
}

static size_t iov_copy(const struct iovec *iov, unsigned cnt, size_t offset, void *buf,
                       size_t len, bool to_buf)
{
    size_t done = 0;

    for (unsigned i = 0; i < cnt && done < len; i++) {
        size_t n;

        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        n = MIN(iov[i].iov_len - offset, len - done);
        if (to_buf) {
            memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + offset, n);
        } else {
            memcpy((uint8_t *)iov[i].iov_base + offset, (uint8_t *)buf + done, n);
        }
        done += n;
        offset = 0;
    }
    return done;
}

size_t iov_to_buf(const struct iovec *iov, unsigned cnt, size_t offset, void *buf, size_t len)
{
    return iov_copy(iov, cnt, offset, buf, len, true);
}

size_t iov_from_buf(const struct iovec *iov, unsigned cnt, size_t offset, const void *buf,
                    size_t len)
{
    return iov_copy(iov, cnt, offset, (void *)buf, len, false);
}

unsigned iov_slice(struct iovec *out, const struct iovec *iov, unsigned cnt, size_t skip,
                   size_t len)
{
    unsigned n = 0;

    for (unsigned i = 0; i < cnt && len; i++) {
        size_t take;

        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        take = MIN(iov[i].iov_len - skip, len);
        out[n].iov_base = (uint8_t *)iov[i].iov_base + skip;
        out[n].iov_len = take;
        n++;
        len -= take;
        skip = 0;
    }
    return n;
}
