/*
 * qcow2 internal snapshots (qcow2.txt "Snapshots"): the snapshot table, and
 * create / goto (qemu-img snapshot -a) / delete / list.
 *
 * A snapshot is a copy of the active L1 table plus one more reference on every
 * L2 table and data cluster it reaches; writes to shared clusters then copy on
 * write (their COPIED flag is clear).  Orderings keep a crash to leaks only:
 * create raises refcounts before the table names the snapshot; delete drops
 * the entry from the table before lowering refcounts.
 *
 * Threads: every function here runs from block.h's "no I/O in flight" callers
 * (open, snapshot commands, check) and does not take s->lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "block/qcow2.h"

/* ---- Table I/O ---- */

void qcow2_free_snapshots(struct qcow2_state *s)
{
    if (s->snapshots) {
        for (uint32_t i = 0; i < s->nb_snapshots; i++) {
            g_free(s->snapshots[i].id_str);
            g_free(s->snapshots[i].name);
            g_free(s->snapshots[i].unknown_extra_data);
        }
    }
    g_free(s->snapshots);
    s->snapshots = NULL;
}

static char *read_string(struct bdrv *bs, uint64_t off, uint16_t len, int *ret)
{
    char *str = g_malloc(len + 1u);

    *ret = bdrv_pread(bs->file, off, str, len);
    str[len] = '\0';
    if (*ret < 0) {
        g_free(str);
        return NULL;
    }
    /* An embedded NUL would make the name differ from what QEMU shows; keep
     * it as the C string up to the NUL, as QEMU's strings do. */
    return str;
}

/* Reads one entry at *off (8-aligned), advancing *off past it.  repair: an
 * entry with more extra data than QEMU accepts keeps only the first 1024
 * bytes of it (counted in *dropped) instead of failing. */
static int read_one_snapshot(struct bdrv *bs, struct qcow2_snapshot *sn, uint64_t *off,
                             int index, bool repair, int *dropped, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    uint8_t h[QCOW2_SN_HEADER_SIZE];
    uint8_t extra[QCOW2_SN_EXTRA_SIZE] = { 0 };
    uint16_t id_len, name_len;
    int ret;

    ret = bdrv_pread(bs->file, *off, h, sizeof(h));
    if (ret < 0) {
        goto io_err;
    }
    *off += sizeof(h);
    sn->l1_table_offset = qcow2_ld64(h + QCOW2_SN_L1_TABLE_OFFSET);
    sn->l1_size = qcow2_ld32(h + QCOW2_SN_L1_SIZE);
    id_len = qcow2_ld16(h + QCOW2_SN_ID_STR_SIZE);
    name_len = qcow2_ld16(h + QCOW2_SN_NAME_SIZE);
    sn->date_sec = qcow2_ld32(h + QCOW2_SN_DATE_SEC);
    sn->date_nsec = qcow2_ld32(h + QCOW2_SN_DATE_NSEC);
    sn->vm_clock_nsec = qcow2_ld64(h + QCOW2_SN_VM_CLOCK_NSEC);
    sn->vm_state_size = qcow2_ld32(h + QCOW2_SN_VM_STATE_SIZE);
    sn->extra_data_size = qcow2_ld32(h + QCOW2_SN_EXTRA_DATA_SIZE);

    uint64_t extra_end = *off + sn->extra_data_size;
    if (sn->extra_data_size > QCOW2_MAX_SNAPSHOT_EXTRA_DATA) {
        if (!repair) {
            g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                        "Too much extra metadata in snapshot table entry %d\nYou can "
                        "force-remove this extra metadata with qemu-img check -r all", index);
            return -EFBIG;
        }
        fprintf(stderr, "Discarding too much extra metadata in snapshot table entry %d "
                "(%" PRIu32 " > %u)\n", index, sn->extra_data_size,
                QCOW2_MAX_SNAPSHOT_EXTRA_DATA);
        (*dropped)++;
        sn->extra_data_size = QCOW2_MAX_SNAPSHOT_EXTRA_DATA;
    }
    uint32_t known = MIN(sn->extra_data_size, (uint32_t)sizeof(extra));
    ret = bdrv_pread(bs->file, *off, extra, known);
    if (ret < 0) {
        goto io_err;
    }
    if (sn->extra_data_size > sizeof(extra)) {
        uint32_t rest = sn->extra_data_size - sizeof(extra);
        sn->unknown_extra_data = g_malloc(rest);
        ret = bdrv_pread(bs->file, *off + sizeof(extra), sn->unknown_extra_data, rest);
        if (ret < 0) {
            goto io_err;
        }
    }
    *off = extra_end;

    /* Extra data fields (qcow2.txt): 64-bit VM state size, disk size, icount. */
    if (known >= QCOW2_SN_EXTRA_VM_STATE_SIZE_LARGE + 8) {
        sn->vm_state_size = qcow2_ld64(extra + QCOW2_SN_EXTRA_VM_STATE_SIZE_LARGE);
    }
    sn->disk_size = known >= QCOW2_SN_EXTRA_DISK_SIZE + 8
                        ? qcow2_ld64(extra + QCOW2_SN_EXTRA_DISK_SIZE) : s->size;
    sn->icount = known >= QCOW2_SN_EXTRA_ICOUNT + 8
                     ? qcow2_ld64(extra + QCOW2_SN_EXTRA_ICOUNT) : UINT64_MAX;

    sn->id_str = read_string(bs, *off, id_len, &ret);
    if (!sn->id_str) {
        goto io_err;
    }
    *off += id_len;
    sn->name = read_string(bs, *off, name_len, &ret);
    if (!sn->name) {
        goto io_err;
    }
    *off += name_len;
    return 0;

io_err:
    g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Failed to read snapshot table: %s",
                g_strerror(-ret));
    return ret;
}

static int do_read_snapshots(struct bdrv *bs, bool repair, int *dropped, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t off = s->snapshots_offset;
    int ret = 0;

    s->snapshots = NULL;
    s->snapshots_size = 0;
    if (s->nb_snapshots == 0) {
        return 0;
    }
    if (s->nb_snapshots > QCOW2_MAX_SNAPSHOTS) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Too many snapshots");
        return -EINVAL;
    }
    if (qcow2_offset_into_cluster(s, off) || off > INT64_MAX) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL, "Snapshot table offset invalid");
        return -EINVAL;
    }

    s->snapshots = g_new0(struct qcow2_snapshot, s->nb_snapshots);
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint64_t prev = off;
        off = (off + 7) & ~7ull;
        ret = read_one_snapshot(bs, &s->snapshots[i], &off, (int)i, repair, dropped, errp);
        if (ret < 0) {
            goto fail;
        }
        if (off - s->snapshots_offset > QCOW2_MAX_SNAPSHOTS_BYTES) {
            struct qcow2_snapshot *sn = &s->snapshots[i];
            if (!repair) {
                g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                            "Snapshot table is too big");
                ret = -EFBIG;
                goto fail;
            }
            /* check -r all keeps the snapshots that fit (QEMU's repair). */
            fprintf(stderr, "Discarding %" PRIu32 " overhanging snapshots (snapshot table is "
                    "too big)\n", s->nb_snapshots - i);
            *dropped += (int)(s->nb_snapshots - i);
            g_free(sn->id_str);
            g_free(sn->name);
            g_free(sn->unknown_extra_data);
            memset(sn, 0, sizeof(*sn));
            s->nb_snapshots = i;
            off = prev;
            break;
        }
    }
    s->snapshots_size = off - s->snapshots_offset;
    return 0;

fail:
    qcow2_free_snapshots(s);
    return ret;
}

int qcow2_read_snapshots(struct bdrv *bs, GError **errp)
{
    return do_read_snapshots(bs, false, NULL, errp);
}

/* For check -r all (qcow2-check.c): as qcow2_read_snapshots, but entries
 * with too much extra data are cut down (*dropped of them); the caller then
 * rewrites the table once the refcounts are repaired. */
int qcow2_read_snapshots_repair(struct bdrv *bs, int *dropped, GError **errp)
{
    *dropped = 0;
    return do_read_snapshots(bs, true, dropped, errp);
}

/* Serializes the table as QEMU writes it: every entry with at least the 24
 * bytes of known extra data, unknown extra data kept after them. */
static uint8_t *serialize_snapshots(struct qcow2_state *s, size_t *size_out)
{
    size_t size = 0;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snapshots[i];
        size = (size + 7) & ~(size_t)7;
        size += QCOW2_SN_HEADER_SIZE + MAX(sn->extra_data_size, QCOW2_SN_EXTRA_SIZE);
        size += strlen(sn->id_str) + strlen(sn->name);
    }
    size = (size + 7) & ~(size_t)7;

    uint8_t *buf = g_malloc0(size ? size : 1);
    size_t off = 0;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snapshots[i];
        uint32_t extra_size = MAX(sn->extra_data_size, QCOW2_SN_EXTRA_SIZE);
        size_t id_len = strlen(sn->id_str), name_len = strlen(sn->name);
        uint8_t *h;

        off = (off + 7) & ~(size_t)7;
        h = buf + off;
        qcow2_st64(h + QCOW2_SN_L1_TABLE_OFFSET, sn->l1_table_offset);
        qcow2_st32(h + QCOW2_SN_L1_SIZE, sn->l1_size);
        qcow2_st16(h + QCOW2_SN_ID_STR_SIZE, id_len);
        qcow2_st16(h + QCOW2_SN_NAME_SIZE, name_len);
        qcow2_st32(h + QCOW2_SN_DATE_SEC, sn->date_sec);
        qcow2_st32(h + QCOW2_SN_DATE_NSEC, sn->date_nsec);
        qcow2_st64(h + QCOW2_SN_VM_CLOCK_NSEC, sn->vm_clock_nsec);
        /* The 32-bit field is ignored when the 64-bit one is present; QEMU
         * stores the low bits only when they fit. */
        qcow2_st32(h + QCOW2_SN_VM_STATE_SIZE,
                   sn->vm_state_size > UINT32_MAX ? 0 : (uint32_t)sn->vm_state_size);
        qcow2_st32(h + QCOW2_SN_EXTRA_DATA_SIZE, extra_size);
        off += QCOW2_SN_HEADER_SIZE;

        qcow2_st64(buf + off + QCOW2_SN_EXTRA_VM_STATE_SIZE_LARGE, sn->vm_state_size);
        qcow2_st64(buf + off + QCOW2_SN_EXTRA_DISK_SIZE, sn->disk_size);
        qcow2_st64(buf + off + QCOW2_SN_EXTRA_ICOUNT, sn->icount);
        if (sn->extra_data_size > QCOW2_SN_EXTRA_SIZE && sn->unknown_extra_data) {
            memcpy(buf + off + QCOW2_SN_EXTRA_SIZE, sn->unknown_extra_data,
                   sn->extra_data_size - QCOW2_SN_EXTRA_SIZE);
        }
        off += extra_size;
        memcpy(buf + off, sn->id_str, id_len);
        off += id_len;
        memcpy(buf + off, sn->name, name_len);
        off += name_len;
    }
    *size_out = size;
    return buf;
}

int qcow2_write_snapshots(struct bdrv *bs)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t old_offset = s->snapshots_offset, old_size = s->snapshots_size;
    int64_t new_offset = 0;
    uint8_t hdr[12];
    size_t size;
    int ret;

    g_autofree uint8_t *buf = serialize_snapshots(s, &size);
    if (size > QCOW2_MAX_SNAPSHOTS_BYTES) {
        return -EFBIG;
    }
    if (size > 0) {
        new_offset = qcow2_alloc_clusters(bs, size);
        if (new_offset < 0) {
            return (int)new_offset;
        }
        /* The new table reaches the disk before the header names it. */
        ret = qcow2_pre_write_check(bs, QCOW2_OL_SNAPSHOT_TABLE, new_offset, size);
        if (ret >= 0) {
            ret = bdrv_pwrite(bs->file, new_offset, buf, size);
        }
        if (ret >= 0) {
            ret = bdrv_flush(bs->file);
        }
        if (ret < 0) {
            qcow2_free_clusters(bs, new_offset, size);
            return ret;
        }
    }

    /* nb_snapshots and snapshots_offset are adjacent (bytes 60-71): one write. */
    qcow2_st32(hdr, s->nb_snapshots);
    qcow2_st64(hdr + 4, (uint64_t)new_offset);
    ret = bdrv_pwrite(bs->file, QCOW2_HDR_NB_SNAPSHOTS, hdr, sizeof(hdr));
    if (ret >= 0) {
        ret = bdrv_flush(bs->file);
    }
    if (ret < 0) {
        if (size > 0) {
            qcow2_free_clusters(bs, new_offset, size);
        }
        return ret;
    }
    s->snapshots_offset = new_offset;
    s->snapshots_size = size;
    if (old_size > 0) {
        /* A failure here only leaks the old table. */
        qcow2_free_clusters(bs, old_offset, old_size);
    }
    return 0;
}

/* ---- Refcounts of everything an L1 table reaches ---- */

/* Reads an L1 table (host-endian) after validating its place in the file. */
static int read_l1(struct bdrv *bs, uint64_t l1_offset, uint32_t l1_size, uint64_t **out)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t *t;
    int ret;

    if ((uint64_t)l1_size * 8 > QCOW2_MAX_L1_BYTES || qcow2_offset_into_cluster(s, l1_offset) ||
        l1_offset > INT64_MAX - (uint64_t)l1_size * 8) {
        return -EINVAL;
    }
    t = g_try_new0(uint64_t, l1_size ? l1_size : 1);
    if (!t) {
        return -ENOMEM;
    }
    ret = bdrv_pread(bs->file, l1_offset, t, (uint64_t)l1_size * 8);
    if (ret < 0) {
        g_free(t);
        return ret;
    }
    for (uint32_t i = 0; i < l1_size; i++) {
        t[i] = GUINT64_FROM_BE(t[i]);
    }
    *out = t;
    return 0;
}

/* ignore: the metadata kinds this L1 table may overwrite (itself). */
static int write_l1(struct bdrv *bs, uint64_t l1_offset, const uint64_t *t, uint32_t l1_size,
                    unsigned ignore)
{
    g_autofree uint64_t *be = g_new(uint64_t, l1_size ? l1_size : 1);
    int ret = qcow2_pre_write_check(bs, ignore, l1_offset, (uint64_t)l1_size * 8);

    if (ret < 0) {
        return ret;
    }
    for (uint32_t i = 0; i < l1_size; i++) {
        be[i] = GUINT64_TO_BE(t[i]);
    }
    ret = bdrv_pwrite(bs->file, l1_offset, be, (uint64_t)l1_size * 8);
    if (ret >= 0) {
        ret = bdrv_flush(bs->file);
    }
    return ret;
}

/* Applies addend to one L2 entry's cluster(s); returns the entry with its
 * COPIED flag matching the new refcount. */
static int update_l2_entry(struct bdrv *bs, uint64_t entry, int addend, uint64_t *new_entry)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t host, bytes, rc;
    int ret;

    switch (qcow2_cluster_type(s, entry)) {
    case QCOW2_SUBCLUSTER_COMPRESSED:
        /* Compressed clusters never carry COPIED (qcow2.txt, L2 bit 63). */
        if (addend != 0) {
            qcow2_compressed_range(s, entry, &host, &bytes);
            ret = qcow2_update_refcount(bs, host, bytes, addend);
            if (ret < 0) {
                return ret;
            }
        }
        *new_entry = entry;
        return 0;
    case QCOW2_SUBCLUSTER_NORMAL:
    case QCOW2_SUBCLUSTER_ZERO_ALLOC:
    case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC:
        host = entry & L2E_OFFSET_MASK;
        if (addend != 0) {
            ret = qcow2_update_refcount(bs, host, s->cluster_size, addend);
            if (ret < 0) {
                return ret;
            }
        }
        ret = qcow2_get_refcount(bs, host >> s->cluster_bits, &rc);
        if (ret < 0) {
            return ret;
        }
        *new_entry = rc == 1 ? entry | QCOW_OFLAG_COPIED : entry & ~QCOW_OFLAG_COPIED;
        return 0;
    default:
        *new_entry = entry;
        return 0;
    }
}

static int update_l2_table(struct bdrv *bs, uint64_t l2_offset, int addend)
{
    struct qcow2_state *s = bs->opaque;
    uint64_t *t = NULL;
    bool dirty = false;
    int ret;

    ret = qcow2_l2_load(bs, l2_offset, &t);
    if (ret < 0) {
        return ret;
    }
    for (uint32_t j = 0; j < s->l2_size; j++) {
        uint64_t e = qcow2_l2_get(s, t, j), ne;
        ret = update_l2_entry(bs, e, addend, &ne);
        if (ret < 0) {
            break;
        }
        if (ne != e) {
            qcow2_l2_set(s, t, j, ne);
            dirty = true;
        }
    }
    if (ret >= 0 && dirty) {
        ret = qcow2_l2_write(bs, t, 0, s->l2_size);
    }
    qcow2_l2_put(bs, &t);
    return ret;
}

/* Whether [off, off+len) lies inside the file (flen bytes). */
static bool in_file(uint64_t off, uint64_t len, uint64_t flen)
{
    return off < flen && len <= flen - off;
}

/*
 * Before any refcount moves up: every L2 table and host cluster the L1
 * table reaches must lie inside the file.  A corrupt entry pointing past
 * the end would otherwise make the refcount table grow to cover it (a
 * terabyte-sized sparse file for one bad entry); refuse, as QEMU does.
 */
static int check_reachable_in_file(struct bdrv *bs, const uint64_t *l1, uint32_t l1_size)
{
    struct qcow2_state *s = bs->opaque;
    int64_t flen = bdrv_length(bs->file);
    int ret = 0;

    if (flen < 0) {
        return (int)flen;
    }
    for (uint32_t i = 0; i < l1_size && ret == 0; i++) {
        uint64_t l2_offset = l1[i] & L1E_OFFSET_MASK;
        uint64_t *t = NULL;

        if (!l2_offset) {
            continue;
        }
        if (!in_file(l2_offset, s->cluster_size, (uint64_t)flen)) {
            qcow2_signal_corruption(bs, true, "L2 table offset %#" PRIx64 " past the end of "
                                    "the file (L1 index: %#" PRIx32 ")", l2_offset, i);
            return -EIO;
        }
        ret = qcow2_l2_load(bs, l2_offset, &t);
        if (ret < 0) {
            return ret;
        }
        for (uint32_t j = 0; j < s->l2_size; j++) {
            uint64_t e = qcow2_l2_get(s, t, j), host = e & L2E_OFFSET_MASK, len = 1;

            switch (qcow2_cluster_type(s, e)) {
            case QCOW2_SUBCLUSTER_COMPRESSED:
                qcow2_compressed_range(s, e, &host, &len);
                break;
            case QCOW2_SUBCLUSTER_NORMAL:
            case QCOW2_SUBCLUSTER_ZERO_ALLOC:
            case QCOW2_SUBCLUSTER_UNALLOCATED_ALLOC:
                break;
            default:
                continue;
            }
            if (qcow2_cluster_type(s, e) != QCOW2_SUBCLUSTER_COMPRESSED &&
                qcow2_offset_into_cluster(s, host)) {
                qcow2_signal_corruption(bs, true, "Cluster allocation offset %#" PRIx64
                                        " unaligned (L2 offset: %#" PRIx64 ", L2 index: %#"
                                        PRIx32 ")", host, l2_offset, j);
                ret = -EIO;
                break;
            }
            if (!in_file(host, MAX(len, 1), (uint64_t)flen)) {
                qcow2_signal_corruption(bs, true, "Cluster offset %#" PRIx64 " past the end "
                                        "of the file (L2 offset: %#" PRIx64 ", L2 index: %#"
                                        PRIx32 ")", host, l2_offset, j);
                ret = -EIO;
                break;
            }
        }
        qcow2_l2_put(bs, &t);
    }
    return ret;
}

int qcow2_update_snapshot_refcount(struct bdrv *bs, uint64_t l1_offset, uint32_t l1_size,
                                   int addend)
{
    struct qcow2_state *s = bs->opaque;
    bool active = l1_offset == s->l1_table_offset && l1_size <= s->l1_size;
    uint64_t *l1 = NULL;
    bool l1_dirty = false;
    int ret = 0;

    if (active) {
        l1 = s->l1_table;
    } else {
        ret = read_l1(bs, l1_offset, l1_size, &l1);
        if (ret < 0) {
            return ret;
        }
    }
    if (addend > 0) {
        ret = check_reachable_in_file(bs, l1, l1_size);
        if (ret < 0) {
            goto out;
        }
    }

    for (uint32_t i = 0; i < l1_size; i++) {
        uint64_t l2_offset = l1[i] & L1E_OFFSET_MASK, rc, ne;
        if (!l2_offset) {
            continue;
        }
        if (qcow2_offset_into_cluster(s, l2_offset)) {
            qcow2_signal_corruption(bs, true, "L2 table offset %#" PRIx64
                                    " unaligned (L1 index: %#" PRIx32 ")", l2_offset, i);
            ret = -EIO;
            goto out;
        }
        ret = update_l2_table(bs, l2_offset, addend);
        if (ret < 0) {
            goto out;
        }
        if (addend != 0) {
            ret = qcow2_update_refcount(bs, l2_offset, s->cluster_size, addend);
            if (ret < 0) {
                goto out;
            }
        }
        ret = qcow2_get_refcount(bs, l2_offset >> s->cluster_bits, &rc);
        if (ret < 0) {
            goto out;
        }
        ne = rc == 1 ? l1[i] | QCOW_OFLAG_COPIED : l1[i] & ~QCOW_OFLAG_COPIED;
        if (ne != l1[i]) {
            l1[i] = ne;
            l1_dirty = true;
        }
    }
    ret = bdrv_flush(bs->file);

out:
    /* A table about to be freed (addend < 0) is not worth rewriting. */
    if (ret >= 0 && addend >= 0 && l1_dirty) {
        ret = write_l1(bs, l1_offset, l1, l1_size, QCOW2_OL_ACTIVE_L1 | QCOW2_OL_INACTIVE_L1);
    }
    if (!active) {
        g_free(l1);
    }
    /* A refcount that would overflow its width: QEMU's update_refcount says
     * -EINVAL, which qemu-img snapshot prints. */
    return ret == -ERANGE ? -EINVAL : ret;
}

/* ---- Lookup ---- */

static int find_by_id(struct qcow2_state *s, const char *id)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].id_str, id)) {
            return (int)i;
        }
    }
    return -1;
}

static int find_by_name(struct qcow2_state *s, const char *name)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if (!strcmp(s->snapshots[i].name, name)) {
            return (int)i;
        }
    }
    return -1;
}

/* QEMU's find_snapshot_by_id_and_name: both must match when both are given. */
static int find_by_id_and_name(struct qcow2_state *s, const char *id, const char *name)
{
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        if ((!id || !strcmp(s->snapshots[i].id_str, id)) &&
            (!name || !strcmp(s->snapshots[i].name, name))) {
            return (int)i;
        }
    }
    return -1;
}

static int find_by_id_or_name(struct qcow2_state *s, const char *id_or_name)
{
    int i = find_by_id(s, id_or_name);
    return i >= 0 ? i : find_by_name(s, id_or_name);
}

/* QEMU numbers snapshots one past the largest numeric ID in use. */
static void new_snapshot_id(struct qcow2_state *s, char *buf, size_t len)
{
    unsigned long max = 0;

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        unsigned long id = strtoul(s->snapshots[i].id_str, NULL, 10);
        max = MAX(max, id);
    }
    snprintf(buf, len, "%lu", max + 1);
}

/* Dirty L2 tables written and deferred frees applied: the refcounts and
 * tables this file walks are the final ones. */
static int flush_metadata(struct bdrv *bs)
{
    int ret = qcow2_writeback(bs);

    if (ret >= 0) {
        ret = bdrv_flush(bs->file);
    }
    return ret;
}

/* ---- Commands ---- */

int qcow2_snapshot_create(struct bdrv *bs, struct bdrv_snapshot *info)
{
    struct qcow2_state *s = bs->opaque;
    struct qcow2_snapshot sn = { 0 };
    struct qcow2_snapshot *old_list = s->snapshots;
    int64_t l1_off;
    int ret;

    if (bs->read_only) {
        return -EACCES;
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_DATA_FILE) {
        return -ENOTSUP;
    }
    if (info->id[0] == '\0') {
        new_snapshot_id(s, info->id, sizeof(info->id));
    }
    if (find_by_id(s, info->id) >= 0) {
        return -EEXIST;
    }
    if (s->nb_snapshots >= QCOW2_MAX_SNAPSHOTS) {
        return -EFBIG;
    }
    ret = flush_metadata(bs);
    if (ret < 0) {
        return ret;
    }

    /* The copy of the active L1 table (none for an empty image). */
    l1_off = 0;
    if (s->l1_size) {
        l1_off = qcow2_alloc_clusters(bs, (uint64_t)s->l1_size * 8);
        if (l1_off < 0) {
            return (int)l1_off;
        }
        ret = write_l1(bs, l1_off, s->l1_table, s->l1_size, 0);
        if (ret < 0) {
            goto fail_l1;
        }
    }
    /* One more reference on everything it reaches; active COPIED flags clear. */
    ret = qcow2_update_snapshot_refcount(bs, s->l1_table_offset, s->l1_size, 1);
    if (ret < 0) {
        goto fail_l1;
    }

    sn.l1_table_offset = l1_off;
    sn.l1_size = s->l1_size;
    sn.id_str = g_strdup(info->id);
    sn.name = g_strdup(info->name);
    sn.disk_size = s->size;
    sn.vm_state_size = info->vm_state_size;
    sn.date_sec = info->date_sec;
    sn.date_nsec = info->date_nsec;
    sn.vm_clock_nsec = info->vm_clock_nsec;
    sn.icount = info->icount;
    sn.extra_data_size = QCOW2_SN_EXTRA_SIZE;

    s->snapshots = g_new(struct qcow2_snapshot, s->nb_snapshots + 1);
    if (s->nb_snapshots) {
        memcpy(s->snapshots, old_list, s->nb_snapshots * sizeof(*old_list));
    }
    s->snapshots[s->nb_snapshots++] = sn;
    ret = qcow2_write_snapshots(bs);
    if (ret < 0) {
        /* The raised refcounts stay: leaks, which check -r leaks repairs. */
        g_free(s->snapshots);
        s->snapshots = old_list;
        s->nb_snapshots--;
        g_free(sn.id_str);
        g_free(sn.name);
        return ret;
    }
    g_free(old_list);
    return 0;

fail_l1:
    if (s->l1_size) {
        qcow2_free_clusters(bs, l1_off, (uint64_t)s->l1_size * 8);
    }
    return ret;
}

int qcow2_snapshot_goto(struct bdrv *bs, const char *id_or_name)
{
    struct qcow2_state *s = bs->opaque;
    g_autofree uint64_t *sn_l1 = NULL;
    uint64_t sn_l1_offset, disk_size;
    uint32_t sn_l1_size;
    int idx, ret;

    if (bs->read_only) {
        return -EACCES;
    }
    idx = find_by_id_or_name(s, id_or_name);
    if (idx < 0) {
        return -ENOENT;
    }
    sn_l1_offset = s->snapshots[idx].l1_table_offset;
    sn_l1_size = s->snapshots[idx].l1_size;
    disk_size = s->snapshots[idx].disk_size;

    ret = flush_metadata(bs);
    if (ret < 0) {
        return ret;
    }
    if (disk_size != s->size) {
        /* The snapshot had another size: the active image takes it first
         * (QEMU's goto truncates exactly, discarding what lies beyond). */
        ret = qcow2_truncate(bs, disk_size, true, "off", NULL);
        if (ret < 0) {
            return ret;
        }
    }
    if (sn_l1_size > s->l1_size) {
        ret = qcow2_grow_l1(bs, sn_l1_size, false);
        if (ret < 0) {
            return ret;
        }
    }
    ret = read_l1(bs, sn_l1_offset, sn_l1_size, &sn_l1);
    if (ret < 0) {
        return ret;
    }

    /* The snapshot's clusters get their extra reference before anything of
     * the current state is released: a crash leaks, never frees data in use. */
    ret = qcow2_update_snapshot_refcount(bs, sn_l1_offset, sn_l1_size, 1);
    if (ret < 0) {
        return ret;
    }

    /* The on-disk active L1 becomes the snapshot's (zero past its end). */
    g_autofree uint64_t *new_l1 = g_new0(uint64_t, s->l1_size ? s->l1_size : 1);
    memcpy(new_l1, sn_l1, (size_t)sn_l1_size * 8);
    ret = write_l1(bs, s->l1_table_offset, new_l1, s->l1_size, QCOW2_OL_ACTIVE_L1);
    if (ret < 0) {
        return ret;
    }

    /* s->l1_table still describes the old state: release it. */
    ret = qcow2_update_snapshot_refcount(bs, s->l1_table_offset, s->l1_size, -1);
    memcpy(s->l1_table, new_l1, (size_t)s->l1_size * 8);
    if (ret < 0) {
        return ret;
    }
    /* COPIED flags of the now active tables, from the refcounts. */
    return qcow2_update_snapshot_refcount(bs, s->l1_table_offset, s->l1_size, 0);
}

int qcow2_snapshot_delete(struct bdrv *bs, const char *id, const char *name, GError **errp)
{
    struct qcow2_state *s = bs->opaque;
    struct qcow2_snapshot sn;
    int idx, ret;

    if (bs->read_only) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_PERM, "Image is read-only");
        return -EACCES;
    }
    idx = find_by_id_and_name(s, id, name);
    if (idx < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_NOENT, "snapshot not found");
        return -ENOENT;
    }
    ret = flush_metadata(bs);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Failed to flush: %s",
                    g_strerror(-ret));
        return ret;
    }

    /* Drop the entry from the table first (a crash then only leaks). */
    sn = s->snapshots[idx];
    memmove(&s->snapshots[idx], &s->snapshots[idx + 1],
            (s->nb_snapshots - idx - 1) * sizeof(sn));
    s->nb_snapshots--;
    ret = qcow2_write_snapshots(bs);
    if (ret < 0) {
        memmove(&s->snapshots[idx + 1], &s->snapshots[idx],
                (s->nb_snapshots - idx) * sizeof(sn));
        s->snapshots[idx] = sn;
        s->nb_snapshots++;
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO,
                    "Failed to remove snapshot from snapshot list: %s", g_strerror(-ret));
        return ret;
    }

    ret = qcow2_update_snapshot_refcount(bs, sn.l1_table_offset, sn.l1_size, -1);
    if (ret >= 0 && sn.l1_size) {
        ret = qcow2_free_clusters(bs, sn.l1_table_offset, (uint64_t)sn.l1_size * 8);
    }
    if (ret >= 0) {
        /* Clusters only the active image holds now may take COPIED again. */
        ret = qcow2_update_snapshot_refcount(bs, s->l1_table_offset, s->l1_size, 0);
    }
    g_free(sn.id_str);
    g_free(sn.name);
    g_free(sn.unknown_extra_data);
    if (ret < 0) {
        g_set_error(errp, G_FILE_ERROR, G_FILE_ERROR_IO, "Failed to free the cluster and L1 "
                    "table: %s", g_strerror(-ret));
    }
    return ret;
}

int qcow2_snapshot_list(struct bdrv *bs, struct bdrv_snapshot **list)
{
    struct qcow2_state *s = bs->opaque;
    struct bdrv_snapshot *l = g_new0(struct bdrv_snapshot, s->nb_snapshots ? s->nb_snapshots : 1);

    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        struct qcow2_snapshot *sn = &s->snapshots[i];
        g_strlcpy(l[i].id, sn->id_str, sizeof(l[i].id));
        g_strlcpy(l[i].name, sn->name, sizeof(l[i].name));
        l[i].vm_state_size = sn->vm_state_size;
        l[i].date_sec = sn->date_sec;
        l[i].date_nsec = sn->date_nsec;
        l[i].vm_clock_nsec = sn->vm_clock_nsec;
        l[i].icount = sn->icount;
    }
    *list = l;
    return (int)s->nb_snapshots;
}
