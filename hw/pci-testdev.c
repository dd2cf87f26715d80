/*
 * pci-testdev: QEMU's PCI test device (1b36:0005, class 0x00ff), which
 * kvm-unit-tests finds by config-space discovery to time and check port and
 * MMIO exits.  Behaviour as QEMU 7.2's hw/misc/pci-testdev.c shows a guest:
 *
 *   BAR0  4 KiB memory, BAR1 256 bytes of I/O, BAR2 (membar=SIZE only) a
 *   64-bit prefetchable memory BAR with nothing behind it.
 *
 * Both BARs show the header of the selected test; six tests exist, three
 * per BAR ("mmio-" or "portio-" followed by "no-eventfd",
 * "wildcard-eventfd", "datamatch-eventfd"):
 *
 *   0   test    write n (0-2): select test n of the BAR written; other
 *               values deselect.  Reads give the test's global number
 *   1   width   1: the size of the write the test counts
 *   4   offset  le32: where to write (0x800 + n for memory, 0x80 + n for I/O,
 *               n the global number 0-5)
 *   8   data    the byte to write: 0xfa, or 0xce for "wildcard"
 *   12  count   le32: writes the device saw at offset
 *   16  name    NUL-terminated
 *
 * Every access is handled byte by byte.  A byte written at offset counts
 * when the test does not match data or the byte equals data.  In QEMU the
 * two eventfd tests hand writes that exactly match the eventfd (1 byte at
 * offset, with the data for datamatch) to an eventfd instead of the device,
 * so those never count; hyvm drops them the same way.  As QEMU under
 * -accel tcg does, an unaligned I/O access is dropped (reads 0) and an
 * unaligned MMIO access is split into bytes before that match.  With no
 * test selected reads return 0 and only writes to byte 0 have an effect.
 *
 * Threads: the handlers run on vCPU threads with the big lock held.
 */
#include <errno.h>
#include <string.h>

#include "hw/device.h"
#include "hw/pci.h"
#include "system/error.h"
#include "system/memory.h"

#define PCI_DEVICE_ID_REDHAT_TEST   0x0005
#define PCI_CLASS_OTHERS            0x00ff00

#define IOTEST_MEMSIZE      2048
#define IOTEST_IOSIZE       128
#define IOTEST_DATAMATCH    0xfa
#define IOTEST_NOMATCH      0xce
#define IOTEST_MAX_TEST     3       /* per BAR */
#define IOTEST_MAX          (2 * IOTEST_MAX_TEST)
#define IOTEST_NAME_MAX     32

/* Header layout, byte offsets. */
#define HDR_TEST    0
#define HDR_WIDTH   1
#define HDR_OFFSET  4
#define HDR_DATA    8
#define HDR_COUNT   12
#define HDR_NAME    16

enum { SPACE_MMIO, SPACE_PORTIO };

struct iotest {
    uint8_t hdr[HDR_NAME + IOTEST_NAME_MAX];
    unsigned bufsize;        /* header and name with its NUL */
    uint32_t offset;
    bool has_eventfd;
    bool match_data;
};

struct pci_testdev {
    struct pci_device *pci;
    struct iotest tests[IOTEST_MAX];
    int current;             /* global test number, -1 for none */
    struct pci_testdev_bar {
        struct pci_testdev *t;
        int space;
    } bars[2];
};

static const char *const iotest_names[IOTEST_MAX_TEST] = {
    "no-eventfd", "wildcard-eventfd", "datamatch-eventfd",
};

static uint32_t hdr_count(const struct iotest *test)
{
    const uint8_t *c = test->hdr + HDR_COUNT;

    return c[0] | c[1] << 8 | c[2] << 16 | (uint32_t)c[3] << 24;
}

static void hdr_set_count(struct iotest *test, uint32_t v)
{
    for (unsigned i = 0; i < 4; i++) {
        test->hdr[HDR_COUNT + i] = v >> (8 * i);
    }
}

static void pci_testdev_write_byte(struct pci_testdev *t, int space, uint64_t addr,
                                   uint8_t val)
{
    struct iotest *test;

    if (addr == HDR_TEST) {
        t->current = -1;
        if (val >= IOTEST_MAX_TEST) {
            return;
        }
        t->current = space * IOTEST_MAX_TEST + val;
        hdr_set_count(&t->tests[t->current], 0);
        return;
    }
    if (t->current < 0) {
        return;
    }
    test = &t->tests[t->current];
    if (addr != test->offset || (test->match_data && val != test->hdr[HDR_DATA])) {
        return;
    }
    hdr_set_count(test, hdr_count(test) + 1);
}

/* The write an eventfd of the current test would take from the device. */
static bool pci_testdev_eventfd_takes(const struct pci_testdev *t, int space, uint64_t addr,
                                      uint64_t value, unsigned size)
{
    const struct iotest *test;

    if (t->current < 0 || t->current / IOTEST_MAX_TEST != space) {
        return false;
    }
    test = &t->tests[t->current];
    return test->has_eventfd && addr == test->offset && size == 1 &&
           (!test->match_data || value == test->hdr[HDR_DATA]);
}

static void pci_testdev_write_aligned(struct pci_testdev *t, int space, uint64_t addr,
                                      uint64_t value, unsigned size)
{
    if (pci_testdev_eventfd_takes(t, space, addr, value, size)) {
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        pci_testdev_write_byte(t, space, addr + i, value >> (8 * i));
    }
}

static uint8_t pci_testdev_read_byte(const struct pci_testdev *t, uint64_t addr)
{
    const struct iotest *test;

    if (t->current < 0) {
        return 0;
    }
    test = &t->tests[t->current];
    /* QEMU's bound: the last byte (the name's NUL) reads 0 either way. */
    return addr + 1 < test->bufsize ? test->hdr[addr] : 0;
}

static bool unaligned(uint64_t addr, unsigned size)
{
    return addr & (size - 1);
}

static uint64_t pci_testdev_read(void *opaque, uint64_t addr, unsigned size)
{
    struct pci_testdev_bar *bar = opaque;
    uint64_t v = 0;

    if (bar->space == SPACE_PORTIO && unaligned(addr, size)) {
        return 0;
    }
    for (unsigned i = 0; i < size; i++) {
        v |= (uint64_t)pci_testdev_read_byte(bar->t, addr + i) << (8 * i);
    }
    return v;
}

static void pci_testdev_write(void *opaque, uint64_t addr, uint64_t value, unsigned size)
{
    struct pci_testdev_bar *bar = opaque;

    if (!unaligned(addr, size)) {
        pci_testdev_write_aligned(bar->t, bar->space, addr, value, size);
        return;
    }
    if (bar->space == SPACE_PORTIO) {
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        pci_testdev_write_aligned(bar->t, bar->space, addr + i, (value >> (8 * i)) & 0xff, 1);
    }
}

/* On reset no test is selected (QEMU's qdev_pci_testdev_reset). */
static void pci_testdev_reset(struct pci_device *pci)
{
    struct pci_testdev *t = pci->opaque;

    t->current = -1;
}

static const struct io_ops pci_testdev_ops = {
    .read = pci_testdev_read,
    .write = pci_testdev_write,
};

static void pci_testdev_init_tests(struct pci_testdev *t)
{
    for (unsigned i = 0; i < IOTEST_MAX; i++) {
        struct iotest *test = &t->tests[i];
        const char *kind = iotest_names[i % IOTEST_MAX_TEST];
        bool mem = i < IOTEST_MAX_TEST;
        g_autofree char *name = g_strdup_printf("%s-%s", mem ? "mmio" : "portio", kind);
        size_t len = strlen(name);

        test->offset = (mem ? IOTEST_MEMSIZE : IOTEST_IOSIZE) + i;
        test->match_data = strcmp(kind, "wildcard-eventfd") != 0;
        test->has_eventfd = strcmp(kind, "no-eventfd") != 0;
        test->bufsize = HDR_NAME + len + 1;
        test->hdr[HDR_TEST] = i;
        test->hdr[HDR_WIDTH] = 1;
        for (unsigned b = 0; b < 4; b++) {
            test->hdr[HDR_OFFSET + b] = test->offset >> (8 * b);
        }
        test->hdr[HDR_DATA] = test->match_data ? IOTEST_DATAMATCH : IOTEST_NOMATCH;
        memcpy(test->hdr + HDR_NAME, name, len + 1);
    }
}

int pci_testdev_realize(struct machine *m, const struct dev_config *cfg, GError **errp)
{
    uint64_t membar = dev_config_uint(cfg, "membar");
    struct pci_testdev *t;
    int devfn, ret;

    const char *romfile = dev_config_str(cfg, "romfile");

    if (pci_parse_addr(cfg, &devfn, errp) < 0) {
        return -EINVAL;
    }
    if (romfile && *romfile) {
        /* QEMU would show the file as an expansion ROM BAR. */
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_UNSUPPORTED,
                    "pci-testdev: romfile is not supported yet");
        return -ENOTSUP;
    }
    if (membar & (membar - 1)) {
        /* QEMU aborts on this; hyvm says why. */
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "pci-testdev: membar 0x%" G_GINT64_MODIFIER "x is not a power of two",
                    membar);
        return -EINVAL;
    }
    t = g_new0(struct pci_testdev, 1);
    t->current = -1;
    t->pci = pci_device_add(cfg->type->name, cfg->id, devfn,
                            dev_config_bool(cfg, "multifunction"), errp);
    if (!t->pci) {
        g_free(t);
        return -EINVAL;
    }
    t->pci->opaque = t;
    t->pci->reset = pci_testdev_reset;
    pci_set_ids(t->pci, PCI_VENDOR_ID_REDHAT, PCI_DEVICE_ID_REDHAT_TEST, 0, PCI_CLASS_OTHERS);
    pci_testdev_init_tests(t);
    t->bars[0] = (struct pci_testdev_bar){ t, SPACE_MMIO };
    t->bars[1] = (struct pci_testdev_bar){ t, SPACE_PORTIO };
    ret = pci_register_bar(t->pci, 0, 0, 2 * IOTEST_MEMSIZE, "pci-testdev-mmio",
                           &pci_testdev_ops, &t->bars[0], errp);
    if (ret == 0) {
        ret = pci_register_bar(t->pci, 1, PCI_BAR_SPACE_IO, 2 * IOTEST_IOSIZE,
                               "pci-testdev-portio", &pci_testdev_ops, &t->bars[1], errp);
    }
    if (ret == 0 && membar) {
        ret = pci_register_bar(t->pci, 2, PCI_BAR_MEM_TYPE_64 | PCI_BAR_MEM_PREFETCH, membar,
                               "pci-testdev-membar", NULL, NULL, errp);
    }
    /* On failure the function stays on the bus (with t, which the bus
     * frees); the machine is not built. */
    return ret;
}
