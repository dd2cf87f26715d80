/*
 * fw_cfg, the traditional I/O interface (QEMU's docs/specs/fw_cfg.rst):
 * a 16-bit write to the selector port picks an item and rewinds it; each
 * byte read from the data port returns the item's next byte, 0 past its
 * end or for a key that holds nothing.  As on QEMU's PC, a byte read at the
 * selector port also reads data, and byte writes are ignored (the write
 * channel is gone since QEMU 2.4).
 *
 * Threads: items are added on the main thread while the machine is built;
 * port accesses come from vCPU threads with the big lock held.
 */
#include <errno.h>
#include <string.h>

#include "hw/fw-cfg.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"

struct fw_cfg_item {
    uint8_t *data;
    uint32_t len;
};

/* One directory entry as the guest reads it: big-endian size and key. */
struct fw_cfg_file {
    uint32_t size_be;
    uint16_t select_be;
    uint16_t reserved;
    char name[FW_CFG_MAX_FILE_PATH];
};

struct fw_cfg {
    uint16_t base;
    struct fw_cfg_item items[2][FW_CFG_MAX_ENTRY];   /* [arch-local][key] */
    struct fw_cfg_file files[FW_CFG_FILE_SLOTS];
    uint32_t nfiles;
    uint16_t cur_key;
    uint32_t cur_offset;
};

/* The item a key names, NULL for one out of range. */
static struct fw_cfg_item *fw_cfg_item(struct fw_cfg *s, uint16_t key)
{
    unsigned arch = !!(key & FW_CFG_ARCH_LOCAL);
    unsigned idx = key & ~(FW_CFG_ARCH_LOCAL | FW_CFG_WRITE_CHANNEL);

    return idx < FW_CFG_MAX_ENTRY ? &s->items[arch][idx] : NULL;
}

static void fw_cfg_set(struct fw_cfg_item *it, const void *data, uint32_t len)
{
    g_free(it->data);
    it->data = len ? g_memdup2(data, len) : NULL;
    it->len = len;
}

void fw_cfg_add_bytes(struct fw_cfg *s, uint16_t key, const void *data, uint32_t len)
{
    struct fw_cfg_item *it = fw_cfg_item(s, key);

    if (!it) {
        warn_report("fw_cfg: key 0x%x is out of range; item dropped", key);
        return;
    }
    fw_cfg_set(it, data, len);
}

void fw_cfg_add_u16(struct fw_cfg *s, uint16_t key, uint16_t v)
{
    uint16_t le = GUINT16_TO_LE(v);

    fw_cfg_add_bytes(s, key, &le, sizeof(le));
}

void fw_cfg_add_u32(struct fw_cfg *s, uint16_t key, uint32_t v)
{
    uint32_t le = GUINT32_TO_LE(v);

    fw_cfg_add_bytes(s, key, &le, sizeof(le));
}

void fw_cfg_add_u64(struct fw_cfg *s, uint16_t key, uint64_t v)
{
    uint64_t le = GUINT64_TO_LE(v);

    fw_cfg_add_bytes(s, key, &le, sizeof(le));
}

/* The directory item: a big-endian count, then the entries. */
static void fw_cfg_update_dir(struct fw_cfg *s)
{
    uint32_t len = sizeof(uint32_t) + s->nfiles * sizeof(struct fw_cfg_file);
    g_autofree uint8_t *dir = g_malloc0(len);
    uint32_t count_be = GUINT32_TO_BE(s->nfiles);

    memcpy(dir, &count_be, sizeof(count_be));
    memcpy(dir + sizeof(count_be), s->files, s->nfiles * sizeof(struct fw_cfg_file));
    fw_cfg_set(&s->items[0][FW_CFG_FILE_DIR], dir, len);
}

int fw_cfg_add_file(struct fw_cfg *s, const char *name, const void *data, uint32_t len,
                    GError **errp)
{
    uint32_t at = 0;

    if (strlen(name) >= FW_CFG_MAX_FILE_PATH) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "fw_cfg: file name too long: %s",
                    name);
        return -ENAMETOOLONG;
    }
    if (s->nfiles >= FW_CFG_FILE_SLOTS) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "fw_cfg: no file slots left for %s (%u)", name, FW_CFG_FILE_SLOTS);
        return -ENOSPC;
    }
    while (at < s->nfiles && strcmp(s->files[at].name, name) < 0) {
        at++;
    }
    if (at < s->nfiles && !strcmp(s->files[at].name, name)) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "fw_cfg: duplicate file name %s",
                    name);
        return -EEXIST;
    }
    /* Keys follow name order, as QEMU's: the files after this one move up. */
    for (uint32_t i = s->nfiles; i > at; i--) {
        s->files[i] = s->files[i - 1];
        s->files[i].select_be = GUINT16_TO_BE(FW_CFG_FILE_FIRST + i);
        s->items[0][FW_CFG_FILE_FIRST + i] = s->items[0][FW_CFG_FILE_FIRST + i - 1];
    }
    s->items[0][FW_CFG_FILE_FIRST + at] = (struct fw_cfg_item){ 0 };
    fw_cfg_set(&s->items[0][FW_CFG_FILE_FIRST + at], data, len);
    memset(&s->files[at], 0, sizeof(s->files[at]));
    s->files[at].size_be = GUINT32_TO_BE(len);
    s->files[at].select_be = GUINT16_TO_BE(FW_CFG_FILE_FIRST + at);
    g_strlcpy(s->files[at].name, name, sizeof(s->files[at].name));
    s->nfiles++;
    fw_cfg_update_dir(s);
    return 0;
}

static void fw_cfg_select(struct fw_cfg *s, uint16_t key)
{
    s->cur_key = key;
    s->cur_offset = 0;
}

void fw_cfg_reset(struct fw_cfg *s)
{
    fw_cfg_select(s, FW_CFG_SIGNATURE);
}

static uint8_t fw_cfg_read_byte(struct fw_cfg *s)
{
    const struct fw_cfg_item *it = fw_cfg_item(s, s->cur_key);

    if (!it || s->cur_offset >= it->len) {
        return 0;
    }
    return it->data[s->cur_offset++];
}

/* Data reads are byte-wide; QEMU refuses wider ones and they read 0. */
static uint64_t fw_cfg_io_read(void *opaque, uint64_t offset, unsigned size)
{
    struct fw_cfg *s = opaque;

    if (size != 1) {
        log_mask(LOG_GUEST_ERROR, "fw_cfg: %u-byte read at offset %u ignored\n", size,
                 (unsigned)offset);
        return 0;
    }
    return fw_cfg_read_byte(s);
}

static void fw_cfg_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct fw_cfg *s = opaque;

    if (offset == 0 && size == 2) {
        fw_cfg_select(s, (uint16_t)value);
        return;
    }
    log_mask(LOG_GUEST_ERROR, "fw_cfg: %u-byte write at offset %u ignored\n", size,
             (unsigned)offset);
}

static const struct io_ops fw_cfg_io_ops = {
    .read = fw_cfg_io_read,
    .write = fw_cfg_io_write,
};

struct fw_cfg *fw_cfg_create_io(uint16_t base, GError **errp)
{
    struct fw_cfg *s = g_new0(struct fw_cfg, 1);

    if (io_register_pio(base, 2, "fw_cfg", &fw_cfg_io_ops, s, errp) < 0) {
        g_free(s);
        return NULL;
    }
    s->base = base;
    fw_cfg_add_bytes(s, FW_CFG_SIGNATURE, "QEMU", 4);
    fw_cfg_add_u32(s, FW_CFG_ID, 1);    /* traditional interface, no DMA */
    fw_cfg_update_dir(s);
    return s;
}

void fw_cfg_destroy(struct fw_cfg *s)
{
    if (!s) {
        return;
    }
    io_unregister_pio(s->base, 2);
    for (unsigned a = 0; a < 2; a++) {
        for (unsigned k = 0; k < FW_CFG_MAX_ENTRY; k++) {
            g_free(s->items[a][k].data);
        }
    }
    g_free(s);
}
