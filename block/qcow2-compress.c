/*
 * Compressed qcow2 clusters (qcow2.txt "Compressed Clusters Descriptor",
 * header byte 104 compression_type): zlib as raw deflate with a 4 KiB window
 * (window bits -12, what QEMU writes), or zstd frames.
 *
 * Threads: any; no shared state (each call has its own stream).
 * Contract: decompression fills exactly dest_size bytes or fails; trailing
 * bytes of the source (the rest of the last 512-byte sector, or another
 * cluster's data) are ignored.
 */
#include <errno.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "block/qcow2.h"

static ssize_t zlib_compress(void *dest, size_t dest_size, const void *src, size_t src_size)
{
    z_stream z = { 0 };
    ssize_t ret;

    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -12, 9, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        return -EIO;
    }
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)src_size;
    z.next_out = dest;
    z.avail_out = (uInt)dest_size;
    ret = deflate(&z, Z_FINISH);
    if (ret == Z_STREAM_END) {
        ret = (ssize_t)(dest_size - z.avail_out);
    } else {
        ret = ret == Z_OK || ret == Z_BUF_ERROR ? -ENOSPC : -EIO;
    }
    deflateEnd(&z);
    return ret;
}

static int zlib_decompress(void *dest, size_t dest_size, const void *src, size_t src_size)
{
    z_stream z = { 0 };
    int ret;

    if (inflateInit2(&z, -12) != Z_OK) {
        return -EIO;
    }
    z.next_in = (Bytef *)src;
    z.avail_in = (uInt)src_size;
    z.next_out = dest;
    z.avail_out = (uInt)dest_size;
    ret = inflate(&z, Z_FINISH);
    /* Full output is success even when the stream goes on (sector padding). */
    if ((ret == Z_STREAM_END || ret == Z_BUF_ERROR || ret == Z_OK) && z.avail_out == 0) {
        ret = 0;
    } else {
        ret = -EIO;
    }
    inflateEnd(&z);
    return ret;
}

static ssize_t zstd_compress(void *dest, size_t dest_size, const void *src, size_t src_size)
{
    size_t r = ZSTD_compress(dest, dest_size, src, src_size, ZSTD_CLEVEL_DEFAULT);

    if (ZSTD_isError(r)) {
        return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? -ENOSPC : -EIO;
    }
    return (ssize_t)r;
}

static int zstd_decompress(void *dest, size_t dest_size, const void *src, size_t src_size)
{
    ZSTD_DStream *ds = ZSTD_createDStream();
    ZSTD_inBuffer in = { src, src_size, 0 };
    ZSTD_outBuffer out = { dest, dest_size, 0 };
    int ret = -EIO;

    if (!ds) {
        return -ENOMEM;
    }
    ZSTD_initDStream(ds);
    /* Stream until the cluster is full; what follows the frame is padding. */
    while (out.pos < out.size) {
        size_t r = ZSTD_decompressStream(ds, &out, &in);

        if (ZSTD_isError(r)) {
            break;
        }
        if (out.pos == out.size) {
            ret = 0;
            break;
        }
        if (r == 0 || in.pos == in.size) {
            break; /* frame ended (or input ran out) short of a cluster */
        }
    }
    if (out.pos == out.size) {
        ret = 0;
    }
    ZSTD_freeDStream(ds);
    return ret;
}

ssize_t qcow2_compress(int type, void *dest, size_t dest_size, const void *src, size_t src_size)
{
    switch (type) {
    case QCOW2_COMPRESSION_ZLIB:
        return zlib_compress(dest, dest_size, src, src_size);
    case QCOW2_COMPRESSION_ZSTD:
        return zstd_compress(dest, dest_size, src, src_size);
    default:
        return -ENOTSUP;
    }
}

int qcow2_decompress(int type, void *dest, size_t dest_size, const void *src, size_t src_size)
{
    switch (type) {
    case QCOW2_COMPRESSION_ZLIB:
        return zlib_decompress(dest, dest_size, src, src_size);
    case QCOW2_COMPRESSION_ZSTD:
        return zstd_decompress(dest, dest_size, src, src_size);
    default:
        return -ENOTSUP;
    }
}
