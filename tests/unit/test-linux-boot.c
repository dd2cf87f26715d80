/*
 * The Linux boot protocol loader (machine/linux-boot.c): bzImages built
 * here in memory go into a fresh guest RAM; the tests read back what the
 * kernel finds there (its protected-mode bytes at 1 MiB, the zero page with
 * its own setup header, the command line, the memory map and the initrd),
 * walk the page tables and the GDT its 64-bit entry state points at, and
 * feed it broken files that must be refused with a message naming them.
 */
#include <inttypes.h>
#include <string.h>
#include <glib/gstdio.h>

#include "machine/e820.h"
#include "machine/linux-boot.h"
#include "machine/machine.h"
#include "system/config.h"
#include "system/memory.h"
#include "tests/unit/image-bytes.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PATH "/images/bzImage"
#define RSDP 0xe0000

/* Setup header offsets from the image's start (Documentation/arch/x86/boot.rst). */
#define H_SETUP_SECTS 0x1f1
#define H_SYSSIZE 0x1f4
#define H_BOOT_FLAG 0x1fe
#define H_JUMP 0x200
#define H_MAGIC 0x202
#define H_VERSION 0x206
#define H_TYPE_OF_LOADER 0x210
#define H_LOADFLAGS 0x211
#define H_CODE32_START 0x214
#define H_RAMDISK_IMAGE 0x218
#define H_RAMDISK_SIZE 0x21c
#define H_CMD_LINE_PTR 0x228
#define H_INITRD_ADDR_MAX 0x22c
#define H_KERNEL_ALIGNMENT 0x230
#define H_RELOCATABLE 0x234
#define H_XLOADFLAGS 0x236
#define H_CMDLINE_SIZE 0x238
#define H_PREF_ADDRESS 0x258
#define H_INIT_SIZE 0x260
/* The header ends at 0x202 + the byte at 0x201: 0x6a, as in Linux 6.1. */
#define JUMP_OFS 0x6a
#define H_END (0x202 + JUMP_OFS)

/* The rest of the zero page (Documentation/arch/x86/zero-page.rst). */
#define ZP 0x7000ull
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_E820_ENTRIES 0x1e8
#define BP_E820_TABLE 0x2d0

#define KERNEL_ADDR 0x100000ull
#define CMDLINE_ADDR 0x20000ull
#define INIT_SIZE 0x400000u
#define PAYLOAD_LEN 0x3123u

/* ---- building images ---- */

static uint8_t payload_byte(size_t i)
{
    return (uint8_t)(i * 13 + (i >> 9) + 1);
}

/*
 * A bzImage of the shape of a 6.1 x86-64 kernel's: setup_sects 512-byte
 * setup sectors after the boot sector, header fields as Linux sets them,
 * every other byte of the real-mode part a nonzero pattern (so a copy that
 * takes too much or too little shows), then payload bytes of
 * protected-mode kernel.  setup_sects 0 means 4 (boot.rst).
 */
static GByteArray *bz_new(unsigned setup_sects, size_t payload)
{
    size_t off = (size_t)((setup_sects ? setup_sects : 4) + 1) * 512;
    GByteArray *b = g_byte_array_sized_new(off + payload);

    g_byte_array_set_size(b, off + payload);
    for (size_t i = 0; i < off; i++) {
        b->data[i] = (uint8_t)(i * 5 + 3) | 0x40;
    }
    for (size_t i = 0; i < payload; i++) {
        b->data[off + i] = payload_byte(i);
    }
    b->data[H_SETUP_SECTS] = setup_sects;
    put32(b, H_SYSSIZE, payload / 16);
    put16(b, H_BOOT_FLAG, 0xaa55);
    b->data[H_JUMP] = 0xeb;
    b->data[H_JUMP + 1] = JUMP_OFS;
    memcpy(b->data + H_MAGIC, "HdrS", 4);
    put16(b, H_VERSION, 0x020f);
    b->data[H_TYPE_OF_LOADER] = 0;
    b->data[H_LOADFLAGS] = 0x01;                /* LOADED_HIGH */
    put32(b, H_CODE32_START, KERNEL_ADDR);
    put32(b, H_RAMDISK_IMAGE, 0);
    put32(b, H_RAMDISK_SIZE, 0);
    put32(b, H_CMD_LINE_PTR, 0);
    put32(b, H_INITRD_ADDR_MAX, 0x7fffffff);
    put32(b, H_KERNEL_ALIGNMENT, 0x200000);
    b->data[H_RELOCATABLE] = 1;
    put16(b, H_XLOADFLAGS, 0x7f);               /* XLF_KERNEL_64 and the others */
    put32(b, H_CMDLINE_SIZE, 0x7ff);
    put64(b, H_PREF_ADDRESS, 0x1000000);
    put32(b, H_INIT_SIZE, INIT_SIZE);
    return b;
}

/* ---- the machine around the loader ---- */

struct fixture {
    struct machine m;
    struct hyvm_config cfg;
};

static void fixture_init(struct fixture *f, uint64_t low, uint64_t high)
{
    g_autoptr(GError) err = NULL;

    memset(f, 0, sizeof(*f));
    ram_free_all();
    g_assert_cmpint(ram_add_region(0, low, &err), ==, 0);
    if (high) {
        g_assert_cmpint(ram_add_region(4 * GiB, high, &err), ==, 0);
    }
    f->m.cfg = &f->cfg;
    f->m.ram_size = low + high;
    /* Dirty RAM so untouched bytes and missed zeroing are visible. */
    memset(ram_hva(0, MIN(low, 4 * MiB)), 0xaa, MIN(low, 4 * MiB));
}

static int load(struct fixture *f, GByteArray *img, uint64_t rsdp, GError **err)
{
    return linux_load(&f->m, PATH, img->data, img->len, rsdp, err);
}

static void load_ok(struct fixture *f, GByteArray *img, uint64_t rsdp)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(load(f, img, rsdp, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_true(f->m.has_boot_state);
}

/* A file in a fresh temporary directory; free with tmp_remove(). */
static char *tmp_file(const char *name, const void *data, size_t len)
{
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("hyvm-linux-boot-XXXXXX", &err);
    char *path;

    g_assert_no_error(err);
    path = g_build_filename(dir, name, NULL);
    g_assert_true(g_file_set_contents(path, data, len, NULL));
    return path;
}

static void tmp_remove(const char *path)
{
    g_autofree char *dir = g_path_get_dirname(path);

    g_assert_cmpint(g_unlink(path), ==, 0);
    g_assert_cmpint(g_rmdir(dir), ==, 0);
}

static uint8_t *initrd_data(size_t len)
{
    uint8_t *d = g_malloc(len);

    for (size_t i = 0; i < len; i++) {
        d[i] = (uint8_t)(i * 7 + (i >> 12) + 0x31);
    }
    return d;
}

/* Compares guest RAM at gpa with want, naming the first differing byte. */
static void assert_ram(uint64_t gpa, const uint8_t *want, size_t len)
{
    const uint8_t *p = ram_hva(gpa, len);

    g_assert_nonnull(p);
    for (size_t i = 0; i < len; i++) {
        if (p[i] != want[i]) {
            g_error("RAM at 0x%" PRIx64 ": 0x%02x, want 0x%02x",
                    gpa + i, p[i], want[i]);
        }
    }
}

/*
 * Loading must fail with a message starting "-kernel PATH: " (or prefix)
 * and containing what, leaving no boot state, and the kernel's RAM and the
 * zero page untouched.
 */
static void expect_refused_by(struct fixture *f, GByteArray *img, const char *prefix,
                              const char *what)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(load(f, img, RSDP, &err), <, 0);
    g_assert_nonnull(err);
    if (!g_str_has_prefix(err->message, prefix) || !strstr(err->message, what)) {
        g_error("message '%s' lacks '%s' or '%s'", err->message, prefix, what);
    }
    g_assert_false(f->m.has_boot_state);
    g_assert_cmphex(*(uint8_t *)ram_hva(KERNEL_ADDR, 1), ==, 0xaa);
    g_assert_cmphex(*(uint8_t *)ram_hva(ZP + 0x1f1, 1), ==, 0xaa);
}

static void expect_refused(GByteArray *img, const char *what)
{
    struct fixture f;

    fixture_init(&f, 128 * MiB, 0);
    expect_refused_by(&f, img, "-kernel " PATH ": ", what);
}

/* ---- tests: what the kernel finds in RAM ---- */

static void test_probe(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);

    g_assert_true(linux_probe(img->data, img->len));
    g_assert_true(linux_probe(img->data, 0x264));
    g_assert_false(linux_probe(img->data, 0x204));
    g_assert_false(linux_probe(NULL, 0));
    img->data[H_MAGIC + 3] = 's';
    g_assert_false(linux_probe(img->data, img->len));
}

/* The protected-mode kernel lies at 1 MiB byte for byte, and nothing more. */
static void test_kernel_bytes(void)
{
    g_autoptr(GByteArray) img = bz_new(39, PAYLOAD_LEN);
    struct fixture f;

    fixture_init(&f, 128 * MiB, 0);
    load_ok(&f, img, RSDP);
    assert_ram(KERNEL_ADDR, img->data + 40 * 512, PAYLOAD_LEN);
    g_assert_cmphex(*(uint8_t *)ram_hva(KERNEL_ADDR + PAYLOAD_LEN, 1), ==, 0xaa);
    g_assert_cmphex(*(uint8_t *)ram_hva(KERNEL_ADDR - 1, 1), ==, 0xaa);
}

/*
 * The zero page, whole: zeroes but for the image's own setup header (up to
 * 0x202 + the byte at 0x201), the fields the loader owns, the memory map
 * and the RSDP; the command line NUL-terminated where cmd_line_ptr says.
 */
static void test_zero_page(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);
    static const uint8_t initrd[] = "070701 an initramfs";
    g_autofree char *initrd_path = tmp_file("initrd.img", initrd, sizeof(initrd));
    g_autoptr(GByteArray) want = g_byte_array_new();
    struct e820_entry map[X86_E820_MAX];
    struct fixture f;
    uint32_t initrd_addr;
    unsigned n;

    fixture_init(&f, 128 * MiB, 0);
    f.cfg.append = (char *)"console=ttyS0 root=/dev/ram0 quiet";
    f.cfg.initrd = initrd_path;
    load_ok(&f, img, RSDP);
    tmp_remove(initrd_path);

    initrd_addr = rd32(ZP + H_RAMDISK_IMAGE);
    g_byte_array_set_size(want, 4096);
    memset(want->data, 0, 4096);
    memcpy(want->data + H_SETUP_SECTS, img->data + H_SETUP_SECTS, H_END - H_SETUP_SECTS);
    want->data[H_TYPE_OF_LOADER] = 0xb0;
    put32(want, H_RAMDISK_IMAGE, initrd_addr);
    put32(want, H_RAMDISK_SIZE, sizeof(initrd));
    put32(want, H_CMD_LINE_PTR, CMDLINE_ADDR);
    put64(want, BP_ACPI_RSDP_ADDR, RSDP);
    n = x86_e820_build(&f.m, map, X86_E820_MAX);
    g_assert_cmpuint(n, ==, 4);
    want->data[BP_E820_ENTRIES] = n;
    for (unsigned i = 0; i < n; i++) {
        put64(want, BP_E820_TABLE + i * 20, map[i].addr);
        put64(want, BP_E820_TABLE + i * 20 + 8, map[i].size);
        put32(want, BP_E820_TABLE + i * 20 + 16, map[i].type);
    }
    assert_ram(ZP, want->data, 4096);

    /* The fields a kernel reads, spelled out. */
    g_assert_cmphex(*(uint8_t *)ram_hva(ZP + H_LOADFLAGS, 1) & 0x01, ==, 0x01);
    g_assert_cmphex(rd32(ZP + H_INIT_SIZE), ==, INIT_SIZE);
    g_assert_cmphex(rd32(ZP + H_KERNEL_ALIGNMENT), ==, 0x200000);
    g_assert_cmphex(rd32(ZP + H_CMD_LINE_PTR), ==, CMDLINE_ADDR);
    g_assert_cmpstr(ram_hva(CMDLINE_ADDR, 1), ==, "console=ttyS0 root=/dev/ram0 quiet");
    g_assert_cmpuint(rd32(ZP + BP_EXT_RAMDISK_IMAGE), ==, 0);
    g_assert_cmphex(rd64(ZP + BP_E820_TABLE + 20), ==, X86_EBDA_START);
}

/* No initrd, no -append, no RSDP, setup_sects 0 (four), RAM above 4 GiB. */
static void test_bare(void)
{
    g_autoptr(GByteArray) img = bz_new(0, PAYLOAD_LEN);
    struct e820_entry map[X86_E820_MAX];
    struct fixture f;
    unsigned n;

    fixture_init(&f, 2 * GiB, 1 * GiB);
    /* Leftovers of an earlier command line must not show through. */
    memset(ram_hva(CMDLINE_ADDR, 16), 'x', 16);
    load_ok(&f, img, 0);
    assert_ram(KERNEL_ADDR, img->data + 5 * 512, PAYLOAD_LEN);
    g_assert_cmphex(rd64(ZP + BP_ACPI_RSDP_ADDR), ==, 0);
    g_assert_cmphex(rd32(ZP + H_RAMDISK_IMAGE), ==, 0);
    g_assert_cmphex(rd32(ZP + H_RAMDISK_SIZE), ==, 0);
    g_assert_cmphex(rd32(ZP + H_CMD_LINE_PTR), ==, CMDLINE_ADDR);
    g_assert_cmpstr(ram_hva(CMDLINE_ADDR, 1), ==, "");
    /* Low RAM, the EBDA and BIOS area, RAM from 1 MiB and above 4 GiB. */
    n = x86_e820_build(&f.m, map, X86_E820_MAX);
    g_assert_cmpuint(n, ==, 5);
    g_assert_cmpuint(*(uint8_t *)ram_hva(ZP + BP_E820_ENTRIES, 1), ==, n);
    for (unsigned i = 0; i < n; i++) {
        uint64_t e = ZP + BP_E820_TABLE + i * 20;

        g_assert_cmphex(rd64(e), ==, map[i].addr);
        g_assert_cmphex(rd64(e + 8), ==, map[i].size);
        g_assert_cmpuint(rd32(e + 16), ==, map[i].type);
    }
    g_assert_cmphex(rd64(ZP + BP_E820_TABLE + 4 * 20), ==, 4 * GiB);
}

/* A command line exactly cmdline_size long is taken whole. */
static void test_cmdline_max(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);
    char line[33];
    struct fixture f;

    memset(line, 'c', 32);
    line[32] = 0;
    put32(img, H_CMDLINE_SIZE, 32);
    fixture_init(&f, 128 * MiB, 0);
    f.cfg.append = line;
    load_ok(&f, img, RSDP);
    g_assert_cmpstr(ram_hva(CMDLINE_ADDR, 1), ==, line);
}

/*
 * An initrd of len bytes loaded into low RAM of ram bytes under the
 * kernel's initrd_addr_max: page-aligned, as high as it may go, clear of
 * the kernel, its bytes in RAM and the header fields saying where.
 */
static void check_initrd(uint64_t ram, uint32_t addr_max, size_t len)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);
    g_autofree uint8_t *data = initrd_data(len);
    g_autofree char *path = tmp_file("initrd.cpio.gz", data, len);
    uint64_t limit = MIN((uint64_t)addr_max + 1, ram);
    struct fixture f;
    uint64_t addr;

    put32(img, H_INITRD_ADDR_MAX, addr_max);
    fixture_init(&f, ram, 0);
    f.cfg.initrd = path;
    load_ok(&f, img, RSDP);
    tmp_remove(path);

    addr = rd32(ZP + H_RAMDISK_IMAGE);
    g_assert_cmpuint(rd32(ZP + H_RAMDISK_SIZE), ==, len);
    g_assert_cmpuint(rd32(ZP + BP_EXT_RAMDISK_IMAGE), ==, 0);
    g_assert_cmphex(addr & 0xfff, ==, 0);
    g_assert_cmphex(addr + len, <=, limit);
    g_assert_cmphex(addr + len + 0x1000, >, limit);
    g_assert_cmphex(addr, >=, KERNEL_ADDR + INIT_SIZE);
    assert_ram(addr, data, len);
    /* The kernel is still whole below it. */
    assert_ram(KERNEL_ADDR, img->data + 5 * 512, PAYLOAD_LEN);
}

static void test_initrd(void)
{
    /* Below the top of RAM: initrd_addr_max is beyond it. */
    check_initrd(128 * MiB, 0x7fffffff, 300000);
    /* A page multiple, ending exactly at the top. */
    check_initrd(64 * MiB, 0xffffffff, 0x20000);
    /* Below initrd_addr_max, which lies inside RAM. */
    check_initrd(128 * MiB, 0x2ffffff, 5000);
    check_initrd(128 * MiB, 0x2ffffff, 0x2000);
    check_initrd(128 * MiB, 0x2ffffff - 0x800, 5000);
}

/* ---- tests: the entry state ---- */

/* Walks the 4-level page tables at cr3 as the MMU does (SDM vol. 3, 4.5). */
static uint64_t walk(uint64_t cr3, uint64_t va)
{
    const uint64_t addr_mask = 0x000ffffffffff000ull;
    uint64_t e = cr3;

    for (int level = 3; level >= 0; level--) {
        e = rd64((e & addr_mask) + ((va >> (12 + 9 * level)) & 511) * 8);
        if (!(e & 1) || !(e & 2)) {
            g_error("va 0x%" PRIx64 ": level %d entry 0x%" PRIx64 " not present and "
                    "writable", va, level, e);
        }
        if (level == 1) {
            /* The protocol's 2 MiB pages: PS set in the page directory. */
            g_assert_true(e & 0x80);
            return (e & 0x000fffffffe00000ull) | (va & 0x1fffff);
        }
        g_assert_false(level == 2 && (e & 0x80));
    }
    g_assert_not_reached();
}

/* The descriptor at sel in the GDT says what the segment cache holds. */
static void check_descriptor(const struct x86_cpu_state *s, enum x86_seg i)
{
    const struct x86_segment *sg = &s->seg[i];
    uint64_t d, limit;

    g_assert_cmpuint(sg->selector + 7, <=, s->gdt.limit);
    d = rd64(s->gdt.base + (sg->selector & ~7u));
    g_assert_cmpuint((d >> 40) & 0xf, ==, sg->type);
    g_assert_cmpuint((d >> 44) & 1, ==, sg->s);
    g_assert_cmpuint((d >> 45) & 3, ==, sg->dpl);
    g_assert_cmpuint((d >> 47) & 1, ==, sg->present);
    g_assert_cmpuint((d >> 53) & 1, ==, sg->l);
    g_assert_cmpuint((d >> 54) & 1, ==, sg->db);
    g_assert_cmphex((d >> 16 & 0xffffff) | (d >> 56) << 24, ==, sg->base);
    limit = (d & 0xffff) | (d >> 48 & 0xf) << 16;
    if (d & (1ull << 55)) {
        limit = limit << 12 | 0xfff;
    }
    g_assert_cmphex(limit, ==, sg->limit);
}

/*
 * boot.rst, "64-bit Boot Protocol": long mode with paging, the loaded
 * range identity-mapped, __BOOT_CS 0x10 and __BOOT_DS 0x18 in a GDT,
 * interrupts off, %rsi the zero page, entry 0x200 into the kernel.
 */
static void test_entry_state(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);
    static const uint64_t vas[] = {
        0, 0x7123, KERNEL_ADDR, KERNEL_ADDR + 0x200, 127 * MiB + 0x555,
        2 * GiB + 0x1234, 3 * GiB + 0x123456, 4 * GiB - 1,
    };
    struct fixture f;
    const struct x86_cpu_state *s = &f.m.boot_state;

    fixture_init(&f, 128 * MiB, 0);
    load_ok(&f, img, RSDP);
    g_assert_cmphex(s->rip, ==, KERNEL_ADDR + 0x200);
    g_assert_cmphex(s->regs[R_ESI], ==, ZP);
    g_assert_cmphex(s->rflags & RFLAGS_IF, ==, 0);
    g_assert_cmphex(s->rflags & RFLAGS_FIXED, ==, RFLAGS_FIXED);
    g_assert_cmphex(s->cr0 & (CR0_PG | CR0_PE), ==, CR0_PG | CR0_PE);
    g_assert_cmphex(s->cr4 & CR4_PAE, ==, CR4_PAE);
    g_assert_cmphex(s->efer & (EFER_LMA | EFER_LME), ==, EFER_LMA | EFER_LME);

    g_assert_cmphex(s->seg[S_CS].selector, ==, 0x10);
    g_assert_true(s->seg[S_CS].l && !s->seg[S_CS].db && s->seg[S_CS].present);
    g_assert_true(s->seg[S_CS].s);
    g_assert_cmphex(s->seg[S_CS].type & 0x8, ==, 0x8);         /* code */
    g_assert_cmphex(s->seg[S_CS].dpl, ==, 0);
    check_descriptor(s, S_CS);
    for (int i = 0; i < S__MAX; i++) {
        if (i == S_DS || i == S_ES || i == S_SS || i == S_FS || i == S_GS) {
            g_assert_cmphex(s->seg[i].selector, ==, 0x18);
            g_assert_cmphex(s->seg[i].base, ==, 0);
            g_assert_cmphex(s->seg[i].type & 0xa, ==, 0x2);   /* data, writable */
            g_assert_true(s->seg[i].present && s->seg[i].s);
            check_descriptor(s, i);
        }
    }
    /* The GDT itself: null entries, then the 64-bit code and flat data ones,
     * in conventional memory clear of the zero page and the page tables. */
    g_assert_cmphex(s->gdt.base + s->gdt.limit, <, 0xa0000);
    g_assert_cmphex(rd64(s->gdt.base), ==, 0);
    g_assert_cmphex(rd64(s->gdt.base + 0x08), ==, 0);
    g_assert_cmphex(rd64(s->gdt.base + 0x10), ==, 0x00af9b000000ffffull);
    g_assert_cmphex(rd64(s->gdt.base + 0x18), ==, 0x00cf93000000ffffull);
    g_assert_false(s->gdt.base < ZP + 4096 && s->gdt.base + s->gdt.limit >= ZP);

    /* The page tables: the first 4 GiB identity-mapped, in low RAM. */
    g_assert_cmphex(s->cr3 & 0xfff, ==, 0);
    g_assert_cmphex(s->cr3, <, 0xa0000);
    for (size_t i = 0; i < G_N_ELEMENTS(vas); i++) {
        g_assert_cmphex(walk(s->cr3, vas[i]), ==, vas[i]);
    }
    /* Every 2 MiB page of the 4 GiB. */
    for (uint64_t va = 0; va < 4 * GiB; va += 2 * MiB) {
        g_assert_cmphex(walk(s->cr3, va + 0x1fffff), ==, va + 0x1fffff);
    }
}

/* ---- tests: refused files and configurations ---- */

static void test_refuse_not_linux(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);

    memcpy(img->data + H_MAGIC, "HdrX", 4);
    g_assert_false(linux_probe(img->data, img->len));
    expect_refused(img, "not a Linux kernel");
}

static void test_refuse_truncated_header(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);

    g_byte_array_set_size(img, 0x263);
    g_assert_true(linux_probe(img->data, img->len));
    expect_refused(img, "truncated: the file (611 bytes) ends in the setup header");
}

static void test_refuse_boot_flag(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);

    put16(img, H_BOOT_FLAG, 0x55aa);
    expect_refused(img, "boot flag 0x55aa");
}

static void test_refuse_no_64bit_entry(void)
{
    g_autoptr(GByteArray) old = bz_new(4, PAYLOAD_LEN);
    g_autoptr(GByteArray) no64 = bz_new(4, PAYLOAD_LEN);
    g_autoptr(GByteArray) v212 = bz_new(4, PAYLOAD_LEN);
    struct fixture f;

    /* 2.11 has no xloadflags: whatever lies there does not count. */
    put16(old, H_VERSION, 0x020b);
    expect_refused(old, "no 64-bit entry point (boot protocol 2.11)");
    put16(no64, H_XLOADFLAGS, 0x7e);
    expect_refused(no64, "no 64-bit entry point (boot protocol 2.15)");
    /* 2.12 with XLF_KERNEL_64 is enough. */
    put16(v212, H_VERSION, 0x020c);
    put16(v212, H_XLOADFLAGS, 0x01);
    fixture_init(&f, 128 * MiB, 0);
    load_ok(&f, v212, RSDP);
}

static void test_refuse_zimage(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);

    img->data[H_LOADFLAGS] = 0x80;
    expect_refused(img, "zImage");
}

static void test_refuse_truncated_kernel(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);
    g_autoptr(GByteArray) setup = bz_new(4, PAYLOAD_LEN);

    /* syssize, in 16-byte paragraphs, reaches past the end of the file. */
    put32(img, H_SYSSIZE, PAYLOAD_LEN / 16 + 1);
    expect_refused(img, "truncated: the header says 0x3130 bytes of protected-mode kernel, "
                   "the file has 0x3123");
    /* The setup sectors alone are longer than the file. */
    setup->data[H_SETUP_SECTS] = 30;
    expect_refused(setup, "ends in the setup code");
}

static void test_refuse_ram_too_small(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);
    g_autoptr(GByteArray) big = bz_new(4, 3 * MiB);
    struct fixture f;

    /* init_size, the kernel's whole footprint, beyond -m. */
    put32(img, H_INIT_SIZE, 32 * MiB);
    fixture_init(&f, 16 * MiB, 0);
    expect_refused_by(&f, img, "-kernel " PATH ": ", "the kernel needs RAM up to 0x3000000; "
                      "give the guest more memory (-m)");
    /* A file bigger than RAM whatever init_size says. */
    put32(big, H_INIT_SIZE, 0x1000);
    fixture_init(&f, 2 * MiB, 0);
    expect_refused_by(&f, big, "-kernel " PATH ": ", "give the guest more memory (-m)");
}

static void test_refuse_cmdline_too_long(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);
    char line[34];
    struct fixture f;

    memset(line, 'c', 33);
    line[33] = 0;
    put32(img, H_CMDLINE_SIZE, 32);
    fixture_init(&f, 128 * MiB, 0);
    f.cfg.append = line;
    expect_refused_by(&f, img, "-kernel " PATH ": ", "the command line (33 bytes) is longer "
                      "than the kernel takes (32)");
}

static void test_refuse_initrd_missing(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);
    struct fixture f;

    fixture_init(&f, 128 * MiB, 0);
    f.cfg.initrd = (char *)"/nonexistent/initrd.img";
    expect_refused_by(&f, img, "", "'/nonexistent/initrd.img'");
}

static void test_refuse_initrd_too_large(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);
    size_t len = 24 * MiB + 1;
    g_autofree uint8_t *data = g_malloc0(len);
    g_autofree char *path = tmp_file("big.img", data, len);
    g_autofree char *what = g_strdup_printf("the initrd '%s' (%zu bytes) does not fit", path,
                                            len);
    struct fixture f;

    put32(img, H_INIT_SIZE, 8 * MiB);
    /* 1 MiB + 8 MiB of kernel leaves less than 24 MiB of 32. */
    fixture_init(&f, 32 * MiB, 0);
    f.cfg.initrd = path;
    expect_refused_by(&f, img, "-kernel " PATH ": ", what);
    /* initrd_addr_max leaves no room, though RAM would. */
    put32(img, H_INIT_SIZE, INIT_SIZE);
    put32(img, H_INITRD_ADDR_MAX, 16 * MiB - 1);
    fixture_init(&f, 128 * MiB, 0);
    f.cfg.initrd = path;
    expect_refused_by(&f, img, "-kernel " PATH ": ", "does not fit below 0x1000000");
    tmp_remove(path);
}

/*
 * The kernel does not run where it is loaded: startup_64 moves itself to
 * max(pref_address, 1 MiB rounded up to kernel_alignment) for a
 * relocatable kernel, pref_address for any other
 * (arch/x86/boot/compressed/head_64.S), and needs init_size bytes there.
 * A Debian 6.1 kernel has pref_address 16 MiB and init_size 0x3378000:
 * counted from 1 MiB, -m 64M would seem enough and the initrd would land
 * at 63 MiB, inside the range the kernel overwrites (QEMU -m 64M hangs
 * there; -m 72M boots).  The loader refuses it.
 */
static void test_runtime_footprint(void)
{
    g_autoptr(GByteArray) img = bz_new(4, PAYLOAD_LEN);
    g_autofree uint8_t *data = initrd_data(MiB);
    g_autofree char *path = tmp_file("initrd.gz", data, MiB);
    uint64_t run_end = 0x1000000ull + 0x3378000;
    g_autoptr(GError) err = NULL;
    struct fixture f;
    int ret;

    put32(img, H_INIT_SIZE, 0x3378000);
    fixture_init(&f, 64 * MiB, 0);
    f.cfg.initrd = path;
    ret = load(&f, img, RSDP, &err);
    tmp_remove(path);
    if (ret == 0) {
        uint64_t initrd = rd32(ZP + H_RAMDISK_IMAGE);

        /* Accepted only if the kernel's footprint and the initrd both fit. */
        g_assert_cmpuint(run_end, <=, 64 * MiB);
        g_assert_cmpuint(initrd, >=, run_end);
    } else {
        g_assert_nonnull(err);
        g_assert_nonnull(strstr(err->message, "-kernel " PATH ": "));
        g_assert_nonnull(strstr(err->message, "more memory (-m)"));
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/linux-boot/probe", test_probe);
    g_test_add_func("/linux-boot/kernel-bytes", test_kernel_bytes);
    g_test_add_func("/linux-boot/zero-page", test_zero_page);
    g_test_add_func("/linux-boot/bare", test_bare);
    g_test_add_func("/linux-boot/cmdline-max", test_cmdline_max);
    g_test_add_func("/linux-boot/initrd", test_initrd);
    g_test_add_func("/linux-boot/entry-state", test_entry_state);
    g_test_add_func("/linux-boot/refuse/not-linux", test_refuse_not_linux);
    g_test_add_func("/linux-boot/refuse/truncated-header", test_refuse_truncated_header);
    g_test_add_func("/linux-boot/refuse/boot-flag", test_refuse_boot_flag);
    g_test_add_func("/linux-boot/refuse/no-64bit-entry", test_refuse_no_64bit_entry);
    g_test_add_func("/linux-boot/refuse/zimage", test_refuse_zimage);
    g_test_add_func("/linux-boot/refuse/truncated-kernel", test_refuse_truncated_kernel);
    g_test_add_func("/linux-boot/refuse/ram-too-small", test_refuse_ram_too_small);
    g_test_add_func("/linux-boot/refuse/cmdline-too-long", test_refuse_cmdline_too_long);
    g_test_add_func("/linux-boot/refuse/initrd-missing", test_refuse_initrd_missing);
    g_test_add_func("/linux-boot/refuse/initrd-too-large", test_refuse_initrd_too_large);
    g_test_add_func("/linux-boot/runtime-footprint", test_runtime_footprint);
    return g_test_run();
}
