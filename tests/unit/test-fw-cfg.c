/*
 * fw_cfg through its ports, as a guest (kvm-unit-tests, SeaBIOS) reads it:
 * a 16-bit selector write, then byte reads from the data port.  Each case
 * builds its own device on 0x510 and removes it again.
 */
#include <errno.h>
#include <string.h>

#include <glib.h>

#include "hw/fw-cfg.h"
#include "system/error.h"
#include "system/main-loop.h"
#include "system/memory.h"
#include "tests/unit/guest-ram.h"

#define SEL FW_CFG_IO_BASE
#define DATA (FW_CFG_IO_BASE + 1)

static struct fw_cfg *fw;

static void setup(void)
{
    g_autoptr(GError) err = NULL;

    fw = fw_cfg_create_io(FW_CFG_IO_BASE, &err);
    g_assert_no_error(err);
    g_assert_nonnull(fw);
}

static void teardown(void)
{
    fw_cfg_destroy(fw);
    fw = NULL;
}

static void select_key(uint16_t key)
{
    uint8_t b[2] = { key, key >> 8 };

    io_pio(SEL, b, 2, true);
}

static uint8_t read_byte(uint16_t port)
{
    uint8_t b = 0xaa;

    io_pio(port, &b, 1, false);
    return b;
}

static void read_item(uint16_t key, void *buf, size_t len)
{
    uint8_t *p = buf;

    select_key(key);
    for (size_t i = 0; i < len; i++) {
        p[i] = read_byte(DATA);
    }
}

static uint64_t read_le(uint16_t key, unsigned size)
{
    uint8_t b[8] = { 0 };
    uint64_t v = 0;

    read_item(key, b, size);
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)b[i] << (8 * i);
    }
    return v;
}

/* The signature, then zeros past its end; the ID says both interfaces. */
static void test_signature_and_id(void)
{
    char sig[6];

    setup();
    read_item(FW_CFG_SIGNATURE, sig, sizeof(sig));
    g_assert_cmpmem(sig, 4, "QEMU", 4);
    g_assert_cmpint(sig[4], ==, 0);
    g_assert_cmpint(sig[5], ==, 0);
    g_assert_cmphex(read_le(FW_CFG_ID, 4), ==, 3);
    /* An empty directory: a big-endian count of 0. */
    g_assert_cmphex(read_le(FW_CFG_FILE_DIR, 4), ==, 0);
    teardown();
}

/* kvm-unit-tests reads NB_CPUS as u16 and RAM_SIZE as u64, little-endian. */
static void test_integers_little_endian(void)
{
    setup();
    fw_cfg_add_u16(fw, FW_CFG_NB_CPUS, 0x0203);
    fw_cfg_add_u32(fw, FW_CFG_IRQ0_OVERRIDE, 0x01020304);
    fw_cfg_add_u64(fw, FW_CFG_RAM_SIZE, 0x0102030405060708ull);
    g_assert_cmphex(read_le(FW_CFG_NB_CPUS, 2), ==, 0x0203);
    g_assert_cmphex(read_le(FW_CFG_IRQ0_OVERRIDE, 4), ==, 0x01020304);
    g_assert_cmphex(read_le(FW_CFG_RAM_SIZE, 8), ==, 0x0102030405060708ull);
    /* Replacing an item changes its length too. */
    fw_cfg_add_u16(fw, FW_CFG_RAM_SIZE, 0xbeef);
    g_assert_cmphex(read_le(FW_CFG_RAM_SIZE, 8), ==, 0xbeef);
    teardown();
}

/* Keys that hold nothing read 0 (kvm-unit-tests' MAX_RAM probe relies on
 * it), also past the table; the arch-local namespace is its own. */
static void test_missing_keys_and_namespaces(void)
{
    setup();
    g_assert_cmphex(read_le(0x11, 8), ==, 0);
    g_assert_cmphex(read_le(0x3fff, 4), ==, 0);
    g_assert_cmphex(read_le(0xffff, 4), ==, 0);
    fw_cfg_add_u32(fw, FW_CFG_IRQ0_OVERRIDE, 7);
    g_assert_cmphex(read_le(FW_CFG_IRQ0_OVERRIDE & ~FW_CFG_ARCH_LOCAL, 4), ==, 0);
    fw_cfg_add_u32(fw, 2, 9);
    g_assert_cmphex(read_le(2, 4), ==, 9);
    g_assert_cmphex(read_le(FW_CFG_IRQ0_OVERRIDE, 4), ==, 7);
    /* The write-channel bit selects the same item. */
    g_assert_cmphex(read_le(FW_CFG_WRITE_CHANNEL | 2, 4), ==, 9);
    teardown();
}

/* Selecting rewinds; reset selects the signature; a byte read at the
 * selector port reads data (QEMU's combined port). */
static void test_select_rewinds_and_reset(void)
{
    uint8_t two[2] = { 0x55, 0x55 };

    setup();
    select_key(FW_CFG_SIGNATURE);
    g_assert_cmpint(read_byte(DATA), ==, 'Q');
    g_assert_cmpint(read_byte(SEL), ==, 'E');
    select_key(FW_CFG_SIGNATURE);
    g_assert_cmpint(read_byte(DATA), ==, 'Q');
    select_key(FW_CFG_ID);
    fw_cfg_reset(fw);
    g_assert_cmpint(read_byte(DATA), ==, 'Q');
    /* A 16-bit read is refused: 0, and the offset does not move. */
    io_pio(SEL, two, 2, false);
    g_assert_cmphex(two[0] | two[1] << 8, ==, 0);
    g_assert_cmpint(read_byte(DATA), ==, 'E');
    teardown();
}

/* Byte writes change nothing: not the selector, not the item. */
static void test_writes_ignored(void)
{
    uint8_t b = 1;

    setup();
    select_key(FW_CFG_SIGNATURE);
    io_pio(DATA, &b, 1, true);
    io_pio(SEL, &b, 1, true);
    g_assert_cmpint(read_byte(DATA), ==, 'Q');
    g_assert_cmpint(read_byte(DATA), ==, 'E');
    teardown();
}

struct dir_entry {
    uint32_t size;
    uint16_t select;
    char name[FW_CFG_MAX_FILE_PATH];
};

static uint32_t read_dir(struct dir_entry *e, unsigned max)
{
    uint8_t b[64];
    uint32_t n;

    select_key(FW_CFG_FILE_DIR);
    for (unsigned i = 0; i < 4; i++) {
        b[i] = read_byte(DATA);
    }
    n = (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
    for (unsigned f = 0; f < n && f < max; f++) {
        for (unsigned i = 0; i < 64; i++) {
            b[i] = read_byte(DATA);
        }
        e[f].size = (uint32_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
        e[f].select = b[4] << 8 | b[5];
        memcpy(e[f].name, b + 8, FW_CFG_MAX_FILE_PATH);
    }
    return n;
}

/* The directory is big-endian and in name order, and keys follow it. */
static void test_files(void)
{
    g_autoptr(GError) err = NULL;
    struct dir_entry e[3];
    char buf[8];

    setup();
    g_assert_cmpint(fw_cfg_add_file(fw, "etc/zeta", "zz", 2, &err), ==, 0);
    g_assert_cmpint(fw_cfg_add_file(fw, "etc/alpha", "aaaaa", 5, &err), ==, 0);
    g_assert_cmpint(fw_cfg_add_file(fw, "etc/mid", "mmm", 3, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpuint(read_dir(e, 3), ==, 3);
    g_assert_cmpstr(e[0].name, ==, "etc/alpha");
    g_assert_cmpstr(e[1].name, ==, "etc/mid");
    g_assert_cmpstr(e[2].name, ==, "etc/zeta");
    g_assert_cmphex(e[0].select, ==, FW_CFG_FILE_FIRST);
    g_assert_cmphex(e[1].select, ==, FW_CFG_FILE_FIRST + 1);
    g_assert_cmphex(e[2].select, ==, FW_CFG_FILE_FIRST + 2);
    g_assert_cmpuint(e[0].size, ==, 5);
    g_assert_cmpuint(e[2].size, ==, 2);
    /* Each key reads the file the directory names for it. */
    read_item(e[2].select, buf, 3);
    g_assert_cmpmem(buf, 3, "zz\0", 3);
    read_item(e[1].select, buf, 3);
    g_assert_cmpmem(buf, 3, "mmm", 3);
    read_item(e[0].select, buf, 5);
    g_assert_cmpmem(buf, 5, "aaaaa", 5);
    teardown();
}

static void test_file_errors(void)
{
    char name[FW_CFG_MAX_FILE_PATH + 1];
    GError *err = NULL;

    setup();
    g_assert_cmpint(fw_cfg_add_file(fw, "a", "1", 1, NULL), ==, 0);
    g_assert_cmpint(fw_cfg_add_file(fw, "a", "2", 1, &err), ==, -EEXIST);
    g_assert_nonnull(err);
    g_clear_error(&err);
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    g_assert_cmpint(fw_cfg_add_file(fw, name, "", 0, &err), ==, -ENAMETOOLONG);
    g_clear_error(&err);
    name[FW_CFG_MAX_FILE_PATH - 1] = 0;     /* 55 characters fit */
    g_assert_cmpint(fw_cfg_add_file(fw, name, "", 0, NULL), ==, 0);
    for (unsigned i = 2; i < FW_CFG_FILE_SLOTS; i++) {
        g_autofree char *n = g_strdup_printf("f%02u", i);

        g_assert_cmpint(fw_cfg_add_file(fw, n, "", 0, NULL), ==, 0);
    }
    g_assert_cmpint(fw_cfg_add_file(fw, "late", "", 0, &err), ==, -ENOSPC);
    g_clear_error(&err);
    g_assert_cmphex(read_le(FW_CFG_FILE_DIR, 4), ==, GUINT32_TO_BE(FW_CFG_FILE_SLOTS));
    /* The first file keeps its data after every insertion moved it. */
    g_assert_cmphex(read_le(FW_CFG_FILE_FIRST, 1), ==, '1');
    teardown();
}

/* Only one device may hold the ports. */
static void test_ports_taken(void)
{
    g_autoptr(GError) err = NULL;

    setup();
    g_assert_null(fw_cfg_create_io(FW_CFG_IO_BASE, &err));
    g_assert_nonnull(err);
    teardown();
}

/* ---- DMA (fw_cfg.rst, "DMA interface") ---- */

#define RAM_BASE 0x100000ull
#define RAM_SIZE 0x10000ull
#define CTL (RAM_BASE + 0x100)      /* the control structure */
#define BUF (RAM_BASE + 0x1000)     /* the transfer's target */

static void dma_ram(void)
{
    static bool mapped;

    if (!mapped) {
        g_assert_cmpint(ram_add_region(RAM_BASE, RAM_SIZE, NULL), ==, 0);
        mapped = true;
    }
    memset(ram_hva(RAM_BASE, RAM_SIZE), 0, RAM_SIZE);
}

/* Writes the structure at ctl, then the address as SeaBIOS does: each
 * half big-endian with outl, high first.  Returns the control word the
 * device left there (host order). */
static uint32_t dma_run(uint64_t ctl, uint32_t control, uint32_t len, uint64_t addr)
{
    uint8_t req[16];
    uint32_t hi = GUINT32_TO_BE((uint32_t)(ctl >> 32)), lo = GUINT32_TO_BE((uint32_t)ctl);
    uint32_t back = 0xdeadbeef;

    for (unsigned i = 0; i < 4; i++) {
        req[i] = control >> (24 - 8 * i);
        req[4 + i] = len >> (24 - 8 * i);
    }
    for (unsigned i = 0; i < 8; i++) {
        req[8 + i] = addr >> (56 - 8 * i);
    }
    if (ram_hva(ctl, 16)) {
        g_assert_cmpint(ram_write(ctl, req, sizeof(req)), ==, 0);
    }
    io_pio(FW_CFG_IO_BASE + 4, &hi, 4, true);
    io_pio(FW_CFG_IO_BASE + 8, &lo, 4, true);
    if (ram_hva(ctl, 4)) {
        g_assert_cmpint(ram_read(ctl, &back, 4), ==, 0);
    }
    return GUINT32_FROM_BE(back);
}

static uint32_t sel(uint16_t key)
{
    return (uint32_t)key << 16 | FW_CFG_DMA_CTL_SELECT;
}

/* The ID says DMA; the register reads "QEMU CFG" in memory order. */
static void test_dma_id_and_signature(void)
{
    uint8_t sig[8];
    uint32_t w;

    setup();
    g_assert_cmphex(read_le(FW_CFG_ID, 4), ==,
                    FW_CFG_VERSION_TRADITIONAL | FW_CFG_VERSION_DMA);
    io_pio(FW_CFG_IO_BASE + 4, &w, 4, false);
    memcpy(sig, &w, 4);
    io_pio(FW_CFG_IO_BASE + 8, &w, 4, false);
    memcpy(sig + 4, &w, 4);
    g_assert_cmpmem(sig, 8, "QEMU CFG", 8);
    teardown();
}

/* Select and read in one request, then a skip and a read that go on from
 * the item's offset; past the end the rest reads as zeros; the byte port
 * continues where DMA stopped. */
static void test_dma_read_skip(void)
{
    uint8_t buf[16];

    setup();
    dma_ram();
    fw_cfg_add_file(fw, "etc/data", "0123456789", 10, NULL);
    g_assert_cmphex(dma_run(CTL, sel(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 3, BUF), ==, 0);
    g_assert_cmpint(ram_read(BUF, buf, 4), ==, 0);
    g_assert_cmpmem(buf, 4, "012\0", 4);
    g_assert_cmphex(dma_run(CTL, FW_CFG_DMA_CTL_SKIP, 2, 0), ==, 0);
    g_assert_cmpint(read_byte(DATA), ==, '5');
    memset(ram_hva(BUF, 16), 0xaa, 16);
    g_assert_cmphex(dma_run(CTL, FW_CFG_DMA_CTL_READ, 8, BUF), ==, 0);
    g_assert_cmpint(ram_read(BUF, buf, 9), ==, 0);
    g_assert_cmpmem(buf, 9, "6789\0\0\0\0\xaa", 9);
    /* A key that holds nothing reads zeros too. */
    memset(ram_hva(BUF, 16), 0xaa, 16);
    g_assert_cmphex(dma_run(CTL, sel(0x11) | FW_CFG_DMA_CTL_READ, 4, BUF), ==, 0);
    g_assert_cmphex(get32(BUF), ==, 0);
    /* The signature, selected through DMA, then read by port. */
    g_assert_cmphex(dma_run(CTL, sel(FW_CFG_SIGNATURE), 0, 0), ==, 0);
    g_assert_cmpint(read_byte(DATA), ==, 'Q');
    teardown();
}

/* Every item is read-only: a write is refused with the error bit and
 * the item keeps its bytes. */
static void test_dma_write_refused(void)
{
    setup();
    dma_ram();
    fw_cfg_add_file(fw, "etc/ro", "abcd", 4, NULL);
    put32(BUF, 0x31313131);
    g_assert_cmphex(dma_run(CTL, sel(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_WRITE, 4, BUF), ==,
                    FW_CFG_DMA_CTL_ERROR);
    g_assert_cmphex(read_le(FW_CFG_FILE_FIRST, 4), ==, 0x64636261);
    /* Past an item's end, too. */
    g_assert_cmphex(dma_run(CTL, sel(0x11) | FW_CFG_DMA_CTL_WRITE, 4, BUF), ==,
                    FW_CFG_DMA_CTL_ERROR);
    teardown();
}

/* Guest addresses outside RAM: the error bit, never a host fault. */
static void test_dma_bad_addresses(void)
{
    setup();
    dma_ram();
    fw_cfg_add_file(fw, "etc/data", "0123456789", 10, NULL);
    /* The target runs off the end of RAM. */
    g_assert_cmphex(dma_run(CTL, sel(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 10,
                            RAM_BASE + RAM_SIZE - 4), ==, FW_CFG_DMA_CTL_ERROR);
    g_assert_cmphex(dma_run(CTL, sel(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 0xffffffff,
                            BUF), ==, FW_CFG_DMA_CTL_ERROR);
    g_assert_cmphex(dma_run(CTL, sel(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 4,
                            0xfffffffffffffffcull), ==, FW_CFG_DMA_CTL_ERROR);
    /* The control structure itself outside RAM: nothing to report to. */
    dma_run(0xfffffff0ull, sel(FW_CFG_FILE_FIRST) | FW_CFG_DMA_CTL_READ, 4, BUF);
    dma_run(RAM_BASE + RAM_SIZE - 8, 0, 0, 0);
    /* A request with neither read, skip nor write moves nothing. */
    g_assert_cmphex(dma_run(CTL, sel(FW_CFG_FILE_FIRST), 4, BUF), ==, 0);
    g_assert_cmpint(read_byte(DATA), ==, '0');
    teardown();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    bql_lock();
    g_test_add_func("/fw-cfg/signature-and-id", test_signature_and_id);
    g_test_add_func("/fw-cfg/integers-little-endian", test_integers_little_endian);
    g_test_add_func("/fw-cfg/missing-keys-and-namespaces", test_missing_keys_and_namespaces);
    g_test_add_func("/fw-cfg/select-rewinds-and-reset", test_select_rewinds_and_reset);
    g_test_add_func("/fw-cfg/writes-ignored", test_writes_ignored);
    g_test_add_func("/fw-cfg/files", test_files);
    g_test_add_func("/fw-cfg/file-errors", test_file_errors);
    g_test_add_func("/fw-cfg/ports-taken", test_ports_taken);
    g_test_add_func("/fw-cfg/dma/id-and-signature", test_dma_id_and_signature);
    g_test_add_func("/fw-cfg/dma/read-skip", test_dma_read_skip);
    g_test_add_func("/fw-cfg/dma/write-refused", test_dma_write_refused);
    g_test_add_func("/fw-cfg/dma/bad-addresses", test_dma_bad_addresses);
    return g_test_run();
}
