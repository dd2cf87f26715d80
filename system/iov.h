/*
 * struct iovec helpers shared by virtio, the block layer and net/: sizes,
 * copies bounded by the vector's total size, and slices of a vector.
 * Pure functions on their arguments.
 */
#ifndef HYVM_IOV_H
#define HYVM_IOV_H

#include <stddef.h>
#include <sys/uio.h>

size_t iov_size(const struct iovec *iov, unsigned cnt);
/* Copies between the bytes [offset, offset + len) of iov and buf, bounded
 * by the vector's total size: the bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned cnt, size_t offset, void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned cnt, size_t offset, const void *buf,
                    size_t len);
/* Fills out[] (room for cnt entries) with the bytes [skip, skip + len) of
 * iov, pointing into iov's buffers; returns how many entries it used. */
unsigned iov_slice(struct iovec *out, const struct iovec *iov, unsigned cnt, size_t skip,
                   size_t len);

#endif
