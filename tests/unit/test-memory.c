/*
 * Guest RAM and the I/O dispatch: what both accelerators rely on when a
 * guest touches memory, ports and MMIO.
 */
#include <errno.h>
#include <string.h>

#include "system/error.h"
#include "system/memory.h"

struct rec {
    uint64_t last_off, last_val;
    unsigned last_size, reads, writes;
    uint64_t read_value;
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
    struct rec *r = opaque;

    r->reads++;
    r->last_off = off;
    r->last_size = size;
    return r->read_value;
}

static void rec_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct rec *r = opaque;

    r->writes++;
    r->last_off = off;
    r->last_val = val;
    r->last_size = size;
}

static const struct io_ops rec_ops = { .read = rec_read, .write = rec_write };

static void test_ram_bounds(void)
{
    g_autoptr(GError) err = NULL;
    uint8_t buf[16] = { 1, 2, 3 };

    g_assert_cmpint(ram_add_region(0, 1 << 20, &err), ==, 0);
    g_assert_cmpint(ram_add_region(1ull << 32, 1 << 20, &err), ==, 0);
    g_assert_cmpuint(ram_region_count(), ==, 2);

    g_assert_cmpint(ram_write(0x1000, buf, 3), ==, 0);
    g_assert_cmpint(memcmp(ram_hva(0x1000, 3), buf, 3), ==, 0);
    /* The last byte of a region is RAM, one past it is not. */
    g_assert_nonnull(ram_hva((1 << 20) - 1, 1));
    g_assert_null(ram_hva((1 << 20) - 1, 2));
    g_assert_cmpint(ram_write((1 << 20) - 8, buf, 16), ==, -EFAULT);
    /* Hostile guest addresses must not wrap around into RAM. */
    g_assert_null(ram_hva(UINT64_MAX, 2));
    g_assert_null(ram_hva(0x10, UINT64_MAX));
    g_assert_null(ram_hva((1ull << 32) + 0x10, UINT64_MAX - 0x8));
    g_assert_nonnull(ram_hva((1ull << 32) + 5, 10));
    /* Overlapping regions are refused. */
    g_assert_cmpint(ram_add_region(0x80000, 0x1000, &err), ==, -EBUSY);
    g_assert_nonnull(err);
    ram_free_all();
    g_assert_cmpuint(ram_region_count(), ==, 0);
}

static void test_pio_dispatch(void)
{
    g_autoptr(GError) err = NULL;
    struct rec a = { .read_value = 0x12345678 }, b = { .read_value = 0xab };
    uint8_t data[4];

    g_assert_cmpint(io_register_pio(0x3f8, 8, "uart", &rec_ops, &a, &err), ==, 0);
    g_assert_cmpint(io_register_pio(0x400, 1, "one", &rec_ops, &b, &err), ==, 0);
    g_assert_cmpint(io_register_pio(0x3fc, 8, "clash", &rec_ops, &b, &err), ==, -EBUSY);
    g_assert_true(strstr(err->message, "uart") != NULL);
    g_clear_error(&err);
    g_assert_cmpint(io_register_pio(0xfffe, 4, "wrap", &rec_ops, &b, &err), ==, -EINVAL);
    g_clear_error(&err);

    /* A write reaches the handler with the offset and value in host order. */
    memcpy(data, (uint8_t[]){ 0x34, 0x12 }, 2);
    io_pio(0x3fb, data, 2, true);
    g_assert_cmpuint(a.writes, ==, 1);
    g_assert_cmpuint(a.last_off, ==, 3);
    g_assert_cmpuint(a.last_val, ==, 0x1234);
    g_assert_cmpuint(a.last_size, ==, 2);

    io_pio(0x3f8, data, 4, false);
    g_assert_cmpuint(data[0], ==, 0x78);
    g_assert_cmpuint(data[3], ==, 0x12);

    /* Unclaimed ports read as all ones, like an empty ISA bus. */
    io_pio(0x80, data, 4, false);
    g_assert_cmpuint(data[0] & data[1] & data[2] & data[3], ==, 0xff);

    /* A word access over a 1-byte region and an empty port is split. */
    memset(data, 0, sizeof(data));
    b.reads = 0;
    io_pio(0x400, data, 2, false);
    g_assert_cmpuint(b.reads, ==, 1);
    g_assert_cmpuint(data[0], ==, 0xab);
    g_assert_cmpuint(data[1], ==, 0xff);
    /* ... and so is one that starts in empty space and ends in a region. */
    b.reads = 0;
    io_pio(0x3ff, data, 2, false);
    g_assert_cmpuint(b.reads, ==, 1);
    g_assert_cmpuint(data[1], ==, 0xab);
    io_unregister_all();
}

static void test_mmio_dispatch(void)
{
    g_autoptr(GError) err = NULL;
    struct rec a = { .read_value = 0x1122334455667788ull };
    uint8_t data[8];

    g_assert_cmpint(io_register_mmio(0xfee00000, 0x1000, "lapic", &rec_ops, &a, &err), ==, 0);
    g_assert_cmpint(io_register_mmio(0xfec00000, 0x100, "ioapic", &rec_ops, &a, &err), ==, 0);
    g_assert_cmpint(io_register_mmio(UINT64_MAX - 1, 4, "wrap", &rec_ops, &a, &err), ==, -EINVAL);
    g_clear_error(&err);

    io_mmio(0xfee00020, data, 8, false);
    g_assert_cmpuint(a.last_off, ==, 0x20);
    g_assert_cmpuint(a.last_size, ==, 8);
    g_assert_cmpuint(data[0], ==, 0x88);
    g_assert_cmpuint(data[7], ==, 0x11);

    /* Unclaimed MMIO reads as zero. */
    memset(data, 0xee, sizeof(data));
    io_mmio(0xd0000000, data, 4, false);
    g_assert_cmpuint(data[0] | data[1] | data[2] | data[3], ==, 0);

    /* The last byte of the region is reachable, one past is not. */
    a.writes = 0;
    io_mmio(0xfec000ff, data, 1, true);
    io_mmio(0xfec00100, data, 1, true);
    g_assert_cmpuint(a.writes, ==, 1);
    io_unregister_all();
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/ram-bounds", test_ram_bounds);
    g_test_add_func("/memory/pio-dispatch", test_pio_dispatch);
    g_test_add_func("/memory/mmio-dispatch", test_mmio_dispatch);
    return g_test_run();
}
