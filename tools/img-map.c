/*
 * hyvm-img map: qemu-img map's ranges, human and --output=json, from
 * bdrv_block_status down the backing chain (depth = how many backing hops
 * answered), adjacent ranges merged as QEMU 7.2 merges them.
 *
 * Threads: main thread.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "tools/img-common.h"
#include "tools/img.h"

struct img_map_entry {
    int64_t start;
    int64_t length;
    int64_t offset;
    int depth;
    bool has_offset;
    bool present;
    bool zero;
    bool data;
    const char *filename; /* the node holding the data, when has_offset */
};

/*
 * QEMU's want_zero rule for data a format node keeps in its file: where
 * the file has a hole under it, the range reads zeroes too, so it is
 * reported DATA and ZERO (a preallocated qcow2 cluster never written).
 * QEMU asks this of drivers that set RECURSE (qcow2 for every normal
 * cluster); the hole check costs one SEEK_DATA, so map asks it of every
 * format node's plain data.
 */
static int img_map_recurse(struct bdrv *bs, int ret, uint64_t map, struct bdrv *file,
                           uint64_t *pnum)
{
    uint64_t fnum = 0;
    int fret;

    if (!file || file == bs || !bs->file || !(ret & BDRV_BLOCK_DATA) ||
        (ret & BDRV_BLOCK_ZERO) || !(ret & BDRV_BLOCK_OFFSET_VALID)) {
        return ret & ~BDRV_BLOCK_RECURSE;
    }
    fret = bdrv_block_status(file, map, *pnum, &fnum, NULL, NULL);
    if (fret < 0 || !fnum) {
        return ret & ~BDRV_BLOCK_RECURSE;
    }
    /* Past the file's end reads zeroes as well, but only a hole may widen
     * nothing: the answer never grows beyond what the file said. */
    *pnum = MIN(*pnum, fnum);
    return (ret & ~BDRV_BLOCK_RECURSE) | (fret & BDRV_BLOCK_ZERO);
}

/* The status of [offset, offset + bytes) at the first node of the chain
 * that answers it. */
static int img_map_status(struct bdrv *top, int64_t offset, int64_t bytes,
                          struct img_map_entry *e)
{
    struct bdrv *bs = top, *file = NULL;
    uint64_t pnum = 0, map = 0;
    int depth = 0, ret;

    for (;;) {
        file = NULL;
        ret = bdrv_block_status(bs, (uint64_t)offset, (uint64_t)bytes, &pnum, &map, &file);
        if (ret < 0) {
            return ret;
        }
        if (!pnum) {
            /* Past a shorter node's end: the rest reads as zeroes. */
            pnum = (uint64_t)bytes;
            ret = BDRV_BLOCK_ZERO;
            break;
        }
        ret = img_map_recurse(bs, ret, map, file, &pnum);
        bytes = (int64_t)pnum;
        if (ret & (BDRV_BLOCK_ZERO | BDRV_BLOCK_DATA)) {
            break;
        }
        if (!bs->backing) {
            ret = 0;
            break;
        }
        bs = bs->backing;
        depth++;
    }
    *e = (struct img_map_entry){
        .start = offset,
        .length = (int64_t)pnum,
        .offset = (int64_t)map,
        .depth = depth,
        .has_offset = !!(ret & BDRV_BLOCK_OFFSET_VALID),
        .present = !!(ret & BDRV_BLOCK_ALLOCATED),
        .zero = !!(ret & BDRV_BLOCK_ZERO),
        .data = !!(ret & BDRV_BLOCK_DATA),
        .filename = (ret & BDRV_BLOCK_OFFSET_VALID) && file ? file->filename : NULL,
    };
    return 0;
}

static bool img_map_mergeable(const struct img_map_entry *c, const struct img_map_entry *n)
{
    if (c->length == 0 || c->zero != n->zero || c->data != n->data || c->depth != n->depth ||
        c->present != n->present || !c->filename != !n->filename ||
        c->has_offset != n->has_offset) {
        return false;
    }
    if (c->filename && strcmp(c->filename, n->filename)) {
        return false;
    }
    return !c->has_offset || c->offset + c->length == n->offset;
}

/* Prints e; next (may be NULL) is the entry after it, which the human form
 * may simplify for better merging.  Returns -EINVAL when the human form
 * cannot show e. */
static int img_map_dump(bool json, const struct img_map_entry *e, struct img_map_entry *next)
{
    if (!json) {
        if (e->data && !e->has_offset) {
            img_error("File contains external, encrypted or compressed clusters.");
            return -EINVAL;
        }
        if (e->data && !e->zero) {
            printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n", (uint64_t)e->start,
                   (uint64_t)e->length, e->has_offset ? (uint64_t)e->offset : 0,
                   e->filename ? e->filename : "");
        }
        /* The human form shows only data; holes and zeroes are alike. */
        if (next && (!next->data || next->zero)) {
            next->data = false;
            next->zero = true;
        }
        return 0;
    }
    printf("{ \"start\": %" PRId64 ", \"length\": %" PRId64 ", \"depth\": %d, "
           "\"present\": %s, \"zero\": %s, \"data\": %s", e->start, e->length, e->depth,
           e->present ? "true" : "false", e->zero ? "true" : "false",
           e->data ? "true" : "false");
    if (e->has_offset) {
        printf(", \"offset\": %" PRId64, e->offset);
    }
    putchar('}');
    if (next) {
        puts(",");
    }
    return 0;
}

static int img_map_image(struct bdrv *bs, bool json, int64_t start, int64_t max_len)
{
    struct img_map_entry curr = { .start = start }, next;
    int64_t length = bdrv_length(bs);
    int ret = 0;

    if (length < 0) {
        img_error("Failed to get size for '%s'", bs->filename);
        return 1;
    }
    if (max_len != -1) {
        length = MIN(start + max_len, length);
    }
    if (json) {
        printf("[");
    } else {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to", "File");
    }
    while (curr.start + curr.length < length) {
        int64_t off = curr.start + curr.length;

        ret = img_map_status(bs, off, length - off, &next);
        if (ret < 0) {
            img_error("Could not read file metadata: %s", g_strerror(-ret));
            goto out;
        }
        if (img_map_mergeable(&curr, &next)) {
            curr.length += next.length;
            continue;
        }
        if (curr.length > 0 && (ret = img_map_dump(json, &curr, &next)) < 0) {
            goto out;
        }
        curr = next;
    }
    ret = img_map_dump(json, &curr, NULL);
    if (json) {
        puts("]");
    }
out:
    return ret < 0 ? 1 : 0;
}

int img_map(int argc, char **argv)
{
    static const struct option long_opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "format", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, IMG_OPT_OUTPUT },
        { "object", required_argument, NULL, IMG_OPT_OBJECT },
        { "image-opts", no_argument, NULL, IMG_OPT_IMAGE_OPTS },
        { "force-share", no_argument, NULL, 'U' },
        { "start-offset", required_argument, NULL, 's' },
        { "max-length", required_argument, NULL, 'l' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    int64_t start = 0, max_len = -1;
    bool json = false, force_share = false;
    struct bdrv *bs;
    int c, ret;

    while ((c = img_getopt(argc, argv, ":f:s:l:hU", long_opts, 1)) != -1) {
        switch (c) {
        case 'f':
            fmt = optarg;
            break;
        case 'U':
            force_share = true;
            break;
        case IMG_OPT_OUTPUT:
            if (img_parse_output(optarg, &json) < 0) {
                return 1;
            }
            break;
        case 's':
            start = img_cvtnum("start offset", optarg, 0, INT64_MAX);
            if (start < 0) {
                return 1;
            }
            break;
        case 'l':
            max_len = img_cvtnum("max length", optarg, 0, INT64_MAX);
            if (max_len < 0) {
                return 1;
            }
            break;
        }
    }
    bs = img_open(img_one_filename(argc, argv), fmt, 0, force_share);
    if (!bs) {
        return 1;
    }
    ret = img_map_image(bs, json, start, max_len);
    bdrv_unref(bs);
    return ret;
}
