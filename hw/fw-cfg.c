/*
 * fw_cfg, the traditional I/O interface (QEMU's docs/specs/fw_cfg.rst):
 * a 16-bit write to the selector port picks an item and rewinds it; each
 * byte read from the data port returns the item's next byte, 0 past its
 * end or for a key that holds nothing.  As on QEMU's PC, a byte read at the
 * selector port also reads data, and byte writes are ignored (the write
 * channel is gone since QEMU 2.4).
 *
 * The DMA interface (fw_cfg.rst, "FW_CFG_DMA_ADDRESS"): the guest writes
 * the guest-physical address of a control structure to the big-endian
 * register at base + 4, high half first; the write of the low half runs
 * the whole transfer before the OUT returns.  Addresses come from the guest
 * and are checked against RAM; anything outside it sets the error bit.
 *
 * Threads: items are added on the main thread while the machine is built;
 * port accesses come from vCPU threads with the big lock held.
 */
#include <errno.h>
#include <inttypes.h>
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
    uint64_t dma_addr;          /* the address register, high half first */
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

/* Writes len zero bytes to guest RAM; false when any is outside it. */
static bool fw_cfg_dma_zero(uint64_t gpa, uint64_t len)
{
    static const uint8_t zeros[4096];

    while (len) {
        uint64_t n = MIN(len, sizeof(zeros));

        if (ram_write(gpa, zeros, n) < 0) {
            return false;
        }
        gpa += n;
        len -= n;
    }
    return true;
}

/*
 * One DMA request (fw_cfg.rst, "DMA interface"): select if asked, then
 * read, skip or write length bytes at the item's current offset.  Past the
 * item's end a read gives zeros and a skip moves nothing; every write is
 * an error, as for QEMU's read-only items (hyvm has no writable one).  The
 * control word goes back to the guest as 0, or with the error bit.
 */
static void fw_cfg_dma_transfer(struct fw_cfg *s, uint64_t gpa)
{
    uint8_t req[16];
    uint32_t control, length, out;
    uint64_t addr;
    bool read, write;

    if (ram_read(gpa, req, sizeof(req)) < 0) {
        log_mask(LOG_GUEST_ERROR, "fw_cfg: DMA control structure at 0x%" PRIx64
                 " is outside RAM\n", gpa);
        out = GUINT32_TO_BE(FW_CFG_DMA_CTL_ERROR);
        ram_write(gpa, &out, sizeof(out));     /* fails too when all of it is outside */
        return;
    }
    control = (uint32_t)req[0] << 24 | req[1] << 16 | req[2] << 8 | req[3];
    length = (uint32_t)req[4] << 24 | req[5] << 16 | req[6] << 8 | req[7];
    addr = 0;
    for (unsigned i = 8; i < 16; i++) {
        addr = addr << 8 | req[i];
    }
    if (control & FW_CFG_DMA_CTL_SELECT) {
        fw_cfg_select(s, control >> 16);
    }
    read = control & FW_CFG_DMA_CTL_READ;
    write = !read && (control & FW_CFG_DMA_CTL_WRITE);
    if (!read && !write && !(control & FW_CFG_DMA_CTL_SKIP)) {
        length = 0;
    }
    control = 0;
    while (length && !(control & FW_CFG_DMA_CTL_ERROR)) {
        const struct fw_cfg_item *it = fw_cfg_item(s, s->cur_key);
        uint32_t n;

        if (!it || s->cur_offset >= it->len) {
            n = length;
            if ((read && !fw_cfg_dma_zero(addr, n)) || write) {
                control |= FW_CFG_DMA_CTL_ERROR;
            }
        } else {
            n = MIN(length, it->len - s->cur_offset);
            if ((read && ram_write(addr, it->data + s->cur_offset, n) < 0) || write) {
                control |= FW_CFG_DMA_CTL_ERROR;
            }
            s->cur_offset += n;
        }
        addr += n;
        length -= n;
    }
    if (control & FW_CFG_DMA_CTL_ERROR) {
        log_mask(LOG_GUEST_ERROR, "fw_cfg: DMA %s of key 0x%x failed near 0x%" PRIx64 "\n",
                 read ? "read" : write ? "write" : "skip", s->cur_key, addr);
    }
    out = GUINT32_TO_BE(control);
    ram_write(gpa, &out, sizeof(out));
}

/* The address register reads as the signature "QEMU CFG", in memory
 * order whatever the access size. */
static uint64_t fw_cfg_dma_read(unsigned at, unsigned size)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < size && at + i < 8; i++) {
        v |= (uint64_t)(uint8_t)FW_CFG_DMA_SIGNATURE[at + i] << (8 * i);
    }
    return v;
}

/* 32-bit writes, each half big-endian: the high half at +0 only
 * stores, the low half at +4 completes the address and starts the
 * transfer. */
static void fw_cfg_dma_write(struct fw_cfg *s, unsigned at, uint64_t value, unsigned size)
{
    uint32_t half = GUINT32_FROM_BE((uint32_t)value);

    if (size != 4 || (at != 0 && at != 4)) {
        log_mask(LOG_GUEST_ERROR, "fw_cfg: %u-byte DMA register write at +%u ignored\n",
                 size, at);
        return;
    }
    if (at == 0) {
        s->dma_addr = (uint64_t)half << 32;
        return;
    }
    s->dma_addr |= half;
    fw_cfg_dma_transfer(s, s->dma_addr);
    s->dma_addr = 0;
}

static uint64_t fw_cfg_dma_io_read(void *opaque, uint64_t offset, unsigned size)
{
    return fw_cfg_dma_read(offset, size);
}

static void fw_cfg_dma_io_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    fw_cfg_dma_write(opaque, offset, value, size);
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

static const struct io_ops fw_cfg_dma_io_ops = {
    .read = fw_cfg_dma_io_read,
    .write = fw_cfg_dma_io_write,
};

struct fw_cfg *fw_cfg_create_io(uint16_t base, GError **errp)
{
    struct fw_cfg *s = g_new0(struct fw_cfg, 1);

    if (io_register_pio(base, 2, "fw_cfg", &fw_cfg_io_ops, s, errp) < 0) {
        g_free(s);
        return NULL;
    }
    if (io_register_pio(base + FW_CFG_DMA_OFFSET, 8, "fw_cfg-dma", &fw_cfg_dma_io_ops, s,
                        errp) < 0) {
        io_unregister_pio(base, 2);
        g_free(s);
        return NULL;
    }
    s->base = base;
    fw_cfg_add_bytes(s, FW_CFG_SIGNATURE, "QEMU", 4);
    fw_cfg_add_u32(s, FW_CFG_ID, FW_CFG_VERSION_TRADITIONAL | FW_CFG_VERSION_DMA);
    fw_cfg_update_dir(s);
    return s;
}

void fw_cfg_destroy(struct fw_cfg *s)
{
    if (!s) {
        return;
    }
    io_unregister_pio(s->base, 2);
    io_unregister_pio(s->base + FW_CFG_DMA_OFFSET, 8);
    for (unsigned a = 0; a < 2; a++) {
        for (unsigned k = 0; k < FW_CFG_MAX_ENTRY; k++) {
            g_free(s->items[a][k].data);
        }
    }
    g_free(s);
}
