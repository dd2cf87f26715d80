/*
 * The Multiboot v1 loader: images built here in memory (ELF32, ELF64, the
 * a.out kludge) go into a fresh guest RAM; the tests read back what a kernel
 * would find there (its bytes, the information structure, modules, memory
 * map) and the entry state, and feed it broken files that must be refused.
 */
#include <errno.h>
#include <string.h>
#include <glib/gstdio.h>

#include "machine/machine.h"
#include "machine/multiboot.h"
#include "system/config.h"
#include "system/error.h"
#include "system/memory.h"
#include "tests/unit/image-bytes.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PATH "/images/kernel.elf"

/* ---- building images ---- */

static char *rdstr(uint64_t gpa)
{
    GString *s = g_string_new(NULL);
    uint8_t c;

    for (;; gpa++) {
        g_assert_cmpint(ram_read(gpa, &c, 1), ==, 0);
        if (!c) {
            break;
        }
        g_string_append_c(s, c);
    }
    return g_string_free(s, FALSE);
}

static GByteArray *image_new(size_t size)
{
    GByteArray *b = g_byte_array_sized_new(size);

    g_byte_array_set_size(b, size);
    memset(b->data, 0, size);
    return b;
}

/* A Multiboot header at off: magic, flags, checksum. */
static void put_mb_header(GByteArray *b, size_t off, uint32_t flags)
{
    put32(b, off, MULTIBOOT_HEADER_MAGIC);
    put32(b, off + 4, flags);
    put32(b, off + 8, -(MULTIBOOT_HEADER_MAGIC + flags));
}

struct seg {
    uint64_t off, vaddr, paddr, filesz, memsz;
    uint32_t type;           /* 0 means PT_LOAD */
};

#define ELF_PHOFF 0x40
#define MB_HDR_OFF 0x400

/*
 * An ELF executable with its program headers at 0x40 and a Multiboot
 * header (flags 3: page-aligned modules and memory info) at 0x400.
 * Segment file bytes are filled with a pattern derived from the offset.
 */
static GByteArray *elf_new(bool is64, uint64_t entry, const struct seg *segs, unsigned n,
                           size_t size)
{
    GByteArray *b = image_new(size);

    memcpy(b->data, "\x7f" "ELF", 4);
    b->data[4] = is64 ? 2 : 1;
    b->data[5] = 1;
    b->data[6] = 1;
    put16(b, 16, 2);
    put16(b, 18, is64 ? 62 : 3);
    put32(b, 20, 1);
    if (is64) {
        put64(b, 24, entry);
        put64(b, 32, ELF_PHOFF);
        put16(b, 52, 64);
        put16(b, 54, 56);
        put16(b, 56, n);
    } else {
        put32(b, 24, entry);
        put32(b, 28, ELF_PHOFF);
        put16(b, 40, 52);
        put16(b, 42, 32);
        put16(b, 44, n);
    }
    for (unsigned i = 0; i < n; i++) {
        const struct seg *s = &segs[i];
        uint32_t type = s->type ? s->type : 1;

        if (is64) {
            size_t p = ELF_PHOFF + i * 56;

            put32(b, p, type);
            put64(b, p + 8, s->off);
            put64(b, p + 16, s->vaddr);
            put64(b, p + 24, s->paddr);
            put64(b, p + 32, s->filesz);
            put64(b, p + 40, s->memsz);
        } else {
            size_t p = ELF_PHOFF + i * 32;

            put32(b, p, type);
            put32(b, p + 4, s->off);
            put32(b, p + 8, s->vaddr);
            put32(b, p + 12, s->paddr);
            put32(b, p + 16, s->filesz);
            put32(b, p + 20, s->memsz);
        }
    }
    for (size_t i = 0x1000; i < size; i++) {
        b->data[i] = (uint8_t)(i * 7 + 1);
    }
    put_mb_header(b, MB_HDR_OFF, 3);
    return b;
}

/* The usual test kernel: text at 1 MiB, data with a bss behind it at 1 MiB + 64K. */
static GByteArray *elf32_simple(void)
{
    const struct seg segs[] = {
        { .off = 0x1000, .vaddr = 0x100000, .paddr = 0x100000, .filesz = 0x1000, .memsz = 0x1000 },
        { .type = 4 /* PT_NOTE: not loaded */, .off = 0x1800, .paddr = 0x50000, .filesz = 0x10,
          .memsz = 0x10 },
        { .off = 0x2000, .vaddr = 0x110000, .paddr = 0x110000, .filesz = 0x800, .memsz = 0x3000 },
    };

    return elf_new(false, 0x100010, segs, G_N_ELEMENTS(segs), 0x3000);
}

/* An a.out-kludge image whose file offset 0 loads at load_addr. */
static GByteArray *aout_new(uint32_t load_addr, uint32_t load_end, uint32_t bss_end,
                            uint32_t entry, size_t size)
{
    GByteArray *b = image_new(size);

    for (size_t i = 0; i < size; i++) {
        b->data[i] = (uint8_t)(i * 13 + 5);
    }
    put_mb_header(b, 0x20, 0x10003);
    put32(b, 0x20 + 12, load_addr + 0x20);   /* header_addr */
    put32(b, 0x20 + 16, load_addr);
    put32(b, 0x20 + 20, load_end);
    put32(b, 0x20 + 24, bss_end);
    put32(b, 0x20 + 28, entry);
    return b;
}

/* ---- the machine around the loader ---- */

struct fixture {
    struct machine m;
    struct hyvm_config cfg;
};

/* RAM laid out as x86_machine_setup_ram does: [0, low), then above 4 GiB. */
static void ram_setup(uint64_t low, uint64_t high)
{
    g_autoptr(GError) err = NULL;

    ram_free_all();
    g_assert_cmpint(ram_add_region(0, low, &err), ==, 0);
    if (high) {
        g_assert_cmpint(ram_add_region(4 * GiB, high, &err), ==, 0);
    }
}

static void fixture_init(struct fixture *f, uint64_t low, uint64_t high)
{
    memset(f, 0, sizeof(*f));
    ram_setup(low, high);
    f->m.cfg = &f->cfg;
    f->m.ram_size = low + high;
}

static int load(struct fixture *f, GByteArray *img, GError **err)
{
    return multiboot_load(&f->m, PATH, img->data, img->len, err);
}

/* Loading must fail with a message naming the kernel and containing what. */
static void expect_refused(GByteArray *img, const char *what)
{
    struct fixture f;
    g_autoptr(GError) err = NULL;

    fixture_init(&f, 128 * MiB, 0);
    g_assert_cmpint(load(&f, img, &err), <, 0);
    g_assert_nonnull(err);
    g_assert_true(g_str_has_prefix(err->message, "-kernel " PATH ": "));
    if (!strstr(err->message, what)) {
        g_error("message '%s' lacks '%s'", err->message, what);
    }
    g_assert_false(f.m.has_boot_state);
}

/* ---- header search ---- */

static void test_probe(void)
{
    g_autoptr(GByteArray) b = image_new(0x3000);

    g_assert_false(multiboot_probe(b->data, b->len));
    g_assert_false(multiboot_probe(NULL, 0));

    /* The last place a 12-byte header fits inside 8 KiB. */
    put_mb_header(b, 8192 - 12, 0);
    g_assert_true(multiboot_probe(b->data, b->len));
    /* ...but not if the file ends inside it. */
    g_assert_false(multiboot_probe(b->data, 8192 - 4));

    memset(b->data, 0, b->len);
    put_mb_header(b, 8192, 0);            /* too far in */
    g_assert_false(multiboot_probe(b->data, b->len));

    memset(b->data, 0, b->len);
    put_mb_header(b, 0x102, 0);           /* not 32-bit aligned */
    g_assert_false(multiboot_probe(b->data, b->len));

    memset(b->data, 0, b->len);
    put_mb_header(b, 0x100, 0);
    g_assert_true(multiboot_probe(b->data, b->len));
    put32(b, 0x108, b->data[0x108] + 1);   /* bad checksum */
    g_assert_false(multiboot_probe(b->data, b->len));
}

/* ---- ELF32 ---- */

static void test_elf32_load(void)
{
    g_autoptr(GByteArray) img = elf32_simple();
    g_autoptr(GError) err = NULL;
    struct fixture f;
    const struct x86_cpu_state *s = &f.m.boot_state;
    uint8_t *p;

    fixture_init(&f, 128 * MiB, 0);
    /* Dirty RAM so the bss zero fill is visible. */
    memset(ram_hva(0x100000, 0x20000), 0xaa, 0x20000);
    f.cfg.append = (char *)"code=21 verbose";

    g_assert_cmpint(load(&f, img, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_true(f.m.has_boot_state);

    p = ram_hva(0x100000, 0x1000);
    g_assert_cmpmem(p, 0x1000, img->data + 0x1000, 0x1000);
    p = ram_hva(0x110000, 0x3000);
    g_assert_cmpmem(p, 0x800, img->data + 0x2000, 0x800);
    for (unsigned i = 0x800; i < 0x3000; i++) {
        g_assert_cmpuint(p[i], ==, 0);
    }
    /* The PT_NOTE segment was not loaded. */
    g_assert_cmpuint(*(uint8_t *)ram_hva(0x50000, 1), ==, 0);
    /* Between the segments nothing was touched. */
    g_assert_cmpuint(*(uint8_t *)ram_hva(0x101000, 1), ==, 0xaa);

    /* 3.2 Machine state. */
    g_assert_cmphex(s->rip, ==, 0x100010);
    g_assert_cmphex(s->regs[R_EAX], ==, 0x2BADB002);
    g_assert_cmphex(s->rflags, ==, 0x2);
    g_assert_true(s->cr0 & CR0_PE);
    g_assert_false(s->cr0 & CR0_PG);
    g_assert_false(s->efer & EFER_LMA);
    g_assert_cmphex(s->seg[S_CS].base, ==, 0);
    g_assert_cmphex(s->seg[S_CS].limit, ==, 0xffffffff);
    g_assert_true(s->seg[S_CS].db);
    g_assert_true(s->seg[S_CS].present);
    g_assert_cmphex(s->seg[S_CS].type & 0xa, ==, 0xa);     /* code, readable */
    for (int i = 0; i < S__MAX; i++) {
        if (i == S_CS || i == S_LDTR || i == S_TR) {
            continue;
        }
        g_assert_cmphex(s->seg[i].base, ==, 0);
        g_assert_cmphex(s->seg[i].limit, ==, 0xffffffff);
        g_assert_cmphex(s->seg[i].type & 0xa, ==, 0x2);    /* data, writable */
        g_assert_true(s->seg[i].db);
    }

    /* The information structure: page aligned, behind the image. */
    uint64_t info = s->regs[R_EBX];
    g_assert_cmphex(info & 0xfff, ==, 0);
    g_assert_cmphex(info, >=, 0x113000);
    g_assert_cmphex(info, <, 128 * MiB);
    g_assert_cmphex(rd32(info), ==, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9));
    g_assert_cmpuint(rd32(info + 4), ==, 640);
    g_assert_cmpuint(rd32(info + 8), ==, 127 * 1024);
    g_autofree char *cmdline = rdstr(rd32(info + 16));
    g_assert_cmpstr(cmdline, ==, PATH " code=21 verbose");
    g_autofree char *name = rdstr(rd32(info + 64));
    g_assert_cmpstr(name, ==, "hyvm");
    g_assert_cmpuint(rd32(info + 20), ==, 0);              /* no modules */
}

static void test_cmdline_without_append(void)
{
    g_autoptr(GByteArray) img = elf32_simple();
    g_autoptr(GError) err = NULL;
    struct fixture f;

    fixture_init(&f, 128 * MiB, 0);
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    /* QEMU passes "<kernel> <append>", keeping the space when -append is empty. */
    g_autofree char *cmdline = rdstr(rd32(f.m.boot_state.regs[R_EBX] + 16));
    g_assert_cmpstr(cmdline, ==, PATH " ");
}

/* A kernel linked high, loaded low: the entry goes through the segment's paddr. */
static void test_elf32_virtual_entry(void)
{
    const struct seg segs[] = {
        { .off = 0x1000, .vaddr = 0xc0100000, .paddr = 0x100000, .filesz = 0x1000, .memsz = 0x1000 },
    };
    g_autoptr(GByteArray) img = elf_new(false, 0xc0100020, segs, 1, 0x2000);
    g_autoptr(GError) err = NULL;
    struct fixture f;

    fixture_init(&f, 64 * MiB, 0);
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    g_assert_cmphex(f.m.boot_state.rip, ==, 0x100020);
}

/* ---- ELF64 ---- */

static void test_elf64_load(void)
{
    const struct seg segs[] = {
        { .off = 0x1000, .vaddr = 0x200000, .paddr = 0x200000, .filesz = 0x1000, .memsz = 0x2000 },
    };
    g_autoptr(GByteArray) img = elf_new(true, 0x200100, segs, 1, 0x2000);
    g_autoptr(GError) err = NULL;
    struct fixture f;

    fixture_init(&f, 64 * MiB, 0);
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpmem(ram_hva(0x200000, 0x1000), 0x1000, img->data + 0x1000, 0x1000);
    g_assert_cmphex(f.m.boot_state.rip, ==, 0x200100);
    g_assert_cmphex(f.m.boot_state.regs[R_EAX], ==, 0x2BADB002);
    g_assert_cmphex(f.m.boot_state.regs[R_EBX], >=, 0x202000);
}

static void test_elf64_high_entry(void)
{
    const struct seg segs[] = {
        { .off = 0x1000, .vaddr = 0x200000, .paddr = 0x200000, .filesz = 0x1000, .memsz = 0x1000 },
    };
    g_autoptr(GByteArray) img = elf_new(true, 0x100200000ull, segs, 1, 0x2000);

    expect_refused(img, "not below 4 GiB");
}

static void test_elf_wrong_machine(void)
{
    const struct seg segs[] = {
        { .off = 0x1000, .vaddr = 0x200000, .paddr = 0x200000, .filesz = 0x1000, .memsz = 0x1000 },
    };
    g_autoptr(GByteArray) img = elf_new(true, 0x200000, segs, 1, 0x2000);

    put16(img, 18, 3);   /* ELF64 claiming i386 */
    expect_refused(img, "not x86-64");
}

/* ---- the a.out kludge ---- */

static void test_aout_load(void)
{
    /* 0x1800 bytes of file load at 2 MiB, bss up to 2 MiB + 0x4000. */
    g_autoptr(GByteArray) img = aout_new(0x200000, 0x201800, 0x204000, 0x200040, 0x3000);
    g_autoptr(GError) err = NULL;
    struct fixture f;
    uint8_t *p;

    fixture_init(&f, 64 * MiB, 0);
    memset(ram_hva(0x200000, 0x5000), 0xaa, 0x5000);
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    g_assert_no_error(err);
    p = ram_hva(0x200000, 0x4000);
    g_assert_cmpmem(p, 0x1800, img->data, 0x1800);
    for (unsigned i = 0x1800; i < 0x4000; i++) {
        g_assert_cmpuint(p[i], ==, 0);
    }
    g_assert_cmphex(f.m.boot_state.rip, ==, 0x200040);
    g_assert_cmphex(f.m.boot_state.regs[R_EBX], ==, 0x204000);
}

static void test_aout_whole_file(void)
{
    /* load_end_addr 0: the rest of the file; bss_end_addr 0: no bss. */
    g_autoptr(GByteArray) img = aout_new(0x300000, 0, 0, 0x300000, 0x2345);
    g_autoptr(GError) err = NULL;
    struct fixture f;

    fixture_init(&f, 64 * MiB, 0);
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    g_assert_cmpmem(ram_hva(0x300000, img->len), img->len, img->data, img->len);
    g_assert_cmphex(f.m.boot_state.regs[R_EBX], ==, 0x303000);
}

static void test_aout_bad(void)
{
    g_autoptr(GByteArray) a = aout_new(0x200000, 0x201800, 0x204000, 0x200040, 0x3000);
    g_autoptr(GByteArray) b = aout_new(0x200000, 0x1ff000, 0, 0x200040, 0x3000);
    g_autoptr(GByteArray) c = aout_new(0x200000, 0x201800, 0x201000, 0x200040, 0x3000);
    g_autoptr(GByteArray) d = aout_new(0x200000, 0x208000, 0, 0x200040, 0x3000);
    g_autoptr(GByteArray) e = aout_new(0x200000, 0x201800, 0, 0x300000, 0x3000);
    g_autoptr(GByteArray) g = aout_new(0xfffff000, 0xfffff800, 0, 0xfffff000, 0x3000);

    /* header_addr below load_addr */
    put32(a, 0x20 + 12, 0x100000);
    expect_refused(a, "invalid load_addr");
    /* header_addr - load_addr further than the header is into the file */
    put32(a, 0x20 + 12, 0x200000 + 0x1000);
    expect_refused(a, "invalid load_addr");
    expect_refused(b, "invalid load_end_addr");
    expect_refused(c, "invalid bss_end_addr");
    expect_refused(d, "beyond the end of the file");
    expect_refused(e, "entry point 0x300000 is not inside");
    expect_refused(g, "outside guest RAM");
}

/* ---- broken files ---- */

static void test_segments_outside_ram(void)
{
    const struct seg above[] = {
        { .off = 0x1000, .paddr = 128 * MiB - 0x800, .filesz = 0x1000, .memsz = 0x1000 },
    };
    const struct seg hole[] = {
        { .off = 0x1000, .paddr = 0xb8000, .filesz = 0x1000, .memsz = 0x1000 },
    };
    const struct seg wrap32[] = {
        { .off = 0x1000, .paddr = 0xfffff000, .filesz = 0x1000, .memsz = 0x2000 },
    };
    const struct seg wrap64[] = {
        { .off = 0x1000, .paddr = 0xfffffffffffff000ull, .filesz = 0x1000, .memsz = 0x2000 },
    };
    const struct seg past_4g[] = {
        { .off = 0x1000, .paddr = 0x100000, .filesz = 0x1000, .memsz = 0x100000000ull },
    };
    g_autoptr(GByteArray) a = elf_new(false, 128 * MiB - 0x800, above, 1, 0x2000);
    g_autoptr(GByteArray) b = elf_new(false, 0xb8000, hole, 1, 0x2000);
    g_autoptr(GByteArray) c = elf_new(false, 0xfffff000, wrap32, 1, 0x2000);
    g_autoptr(GByteArray) d = elf_new(true, 0x1000, wrap64, 1, 0x2000);
    g_autoptr(GByteArray) e = elf_new(true, 0x100000, past_4g, 1, 0x2000);

    expect_refused(a, "outside guest RAM");
    expect_refused(b, "outside guest RAM");   /* 640 KiB - 1 MiB is not RAM */
    expect_refused(c, "does not fit below 4 GiB");   /* would wrap 32 bits */
    expect_refused(d, "does not fit below 4 GiB");
    expect_refused(e, "does not fit below 4 GiB");
}

static void test_bad_sizes(void)
{
    const struct seg file_short[] = {
        { .off = 0x1000, .paddr = 0x100000, .filesz = 0x2000, .memsz = 0x2000 },
    };
    const struct seg off_wrap[] = {
        { .off = 0xffffffffffffff00ull, .paddr = 0x100000, .filesz = 0x200, .memsz = 0x200 },
    };
    const struct seg file_gt_mem[] = {
        { .off = 0x1000, .paddr = 0x100000, .filesz = 0x1000, .memsz = 0x800 },
    };
    const struct seg overlap[] = {
        { .off = 0x1000, .paddr = 0x100000, .filesz = 0x1000, .memsz = 0x1000 },
        { .off = 0x1000, .paddr = 0x100800, .filesz = 0x800, .memsz = 0x800 },
    };
    const struct seg ok[] = {
        { .off = 0x1000, .paddr = 0x100000, .filesz = 0x1000, .memsz = 0x1000 },
    };
    g_autoptr(GByteArray) a = elf_new(false, 0x100000, file_short, 1, 0x2000);
    g_autoptr(GByteArray) b = elf_new(true, 0x100000, off_wrap, 1, 0x2000);
    g_autoptr(GByteArray) c = elf_new(false, 0x100000, file_gt_mem, 1, 0x2000);
    g_autoptr(GByteArray) d = elf_new(false, 0x100000, overlap, 2, 0x2000);
    g_autoptr(GByteArray) e = elf_new(false, 0x100000, ok, 1, 0x2000);
    g_autoptr(GByteArray) g = elf_new(false, 0x100000, ok, 1, 0x2000);
    g_autoptr(GByteArray) h = elf_new(false, 0x200000, ok, 1, 0x2000);
    g_autoptr(GByteArray) i = elf_new(false, 0x100000, ok, 1, 0x2000);

    expect_refused(a, "beyond the end of the file");
    expect_refused(b, "beyond the end of the file");
    expect_refused(c, "larger than its memory size");
    expect_refused(d, "overlap");
    put32(e, 28, 0x1ff0);                      /* phoff: headers run off the end */
    expect_refused(e, "program headers lie beyond");
    put16(g, 42, 16);                          /* phentsize too small */
    expect_refused(g, "program header size");
    expect_refused(h, "entry point 0x200000 is not inside");
    memset(i->data, 0, 4);                     /* not ELF, no a.out kludge */
    expect_refused(i, "not ELF");
}

static void test_header_flags(void)
{
    g_autoptr(GByteArray) a = elf32_simple();
    g_autoptr(GByteArray) b = elf32_simple();
    g_autoptr(GError) err = NULL;
    struct fixture f;

    put_mb_header(a, MB_HDR_OFF, 3 | (1 << 3));   /* an unknown requirement */
    expect_refused(a, "requires features hyvm does not offer (flags 0x00000008)");

    /* Video mode (bit 2) and optional bits 17-31 only warn or are ignored. */
    put_mb_header(b, MB_HDR_OFF, 7 | (1u << 20));
    fixture_init(&f, 128 * MiB, 0);
    g_assert_cmpint(load(&f, b, &err), ==, 0);
    g_assert_no_error(err);
}

static void test_no_room_for_info(void)
{
    /* The image ends at the last page of RAM: nothing fits behind it. */
    const struct seg segs[] = {
        { .off = 0x1000, .paddr = 16 * MiB - 0x1000, .filesz = 0x1000, .memsz = 0x1000 },
    };
    g_autoptr(GByteArray) img = elf_new(false, 16 * MiB - 0x1000, segs, 1, 0x2000);
    g_autoptr(GError) err = NULL;
    struct fixture f;

    fixture_init(&f, 16 * MiB, 0);
    g_assert_cmpint(load(&f, img, &err), <, 0);
    g_assert_nonnull(strstr(err->message, "no room in guest RAM"));
    g_assert_false(f.m.has_boot_state);
}

/* A kernel in low memory gets its info there when it fits, else above 1 MiB. */
static void test_info_skips_hole(void)
{
    const struct seg segs[] = {
        { .off = 0x1000, .paddr = 0x9f000, .filesz = 0x1000, .memsz = 0x1000 },
    };
    g_autoptr(GByteArray) img = elf_new(false, 0x9f000, segs, 1, 0x2000);
    g_autoptr(GError) err = NULL;
    struct fixture f;

    fixture_init(&f, 16 * MiB, 0);
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    g_assert_cmphex(f.m.boot_state.regs[R_EBX], ==, 0x100000);
}

/* ---- modules ---- */

static void test_modules(void)
{
    g_autoptr(GByteArray) img = elf32_simple();
    g_autoptr(GError) err = NULL;
    g_autofree char *dir = g_dir_make_tmp("hyvm-mb-XXXXXX", &err);
    g_autofree char *a = g_build_filename(dir, "a", NULL);
    g_autofree char *bc = g_build_filename(dir, "b,c", NULL);
    g_autofree char *empty = g_build_filename(dir, "empty", NULL);
    g_autofree char *spec = NULL;
    g_autofree char *str_a = NULL, *str_bc = NULL;
    char data_a[5000];
    struct fixture f;
    uint64_t info, mods, prev_end;

    g_assert_no_error(err);
    memset(data_a, 'A', sizeof(data_a));
    g_assert_true(g_file_set_contents(a, data_a, sizeof(data_a), NULL));
    g_assert_true(g_file_set_contents(bc, "module two", 10, NULL));
    g_assert_true(g_file_set_contents(empty, "", 0, NULL));
    /* "b,c" is written "b,,c" on the command line. */
    spec = g_strdup_printf("%s arg1 arg2,%s/b,,c,%s", a, dir, empty);
    str_a = g_strdup_printf("%s arg1 arg2", a);

    fixture_init(&f, 128 * MiB, 0);
    f.cfg.initrd = spec;
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    g_assert_no_error(err);

    info = f.m.boot_state.regs[R_EBX];
    g_assert_cmpuint(rd32(info) & (1 << 3), !=, 0);
    g_assert_cmpuint(rd32(info + 20), ==, 3);
    mods = rd32(info + 24);
    prev_end = info;

    const struct { const char *string; const void *data; uint32_t size; } want[] = {
        { str_a, data_a, sizeof(data_a) },
        { bc, "module two", 10 },
        { empty, "", 0 },
    };
    for (unsigned i = 0; i < 3; i++) {
        uint64_t start = rd32(mods + 16 * i), end = rd32(mods + 16 * i + 4);
        g_autofree char *s = rdstr(rd32(mods + 16 * i + 8));

        g_assert_cmphex(start & 0xfff, ==, 0);            /* page aligned */
        g_assert_cmphex(start, >, prev_end);               /* behind the info, in order */
        g_assert_cmpuint(end - start, ==, want[i].size);
        if (want[i].size) {
            g_assert_cmpmem(ram_hva(start, want[i].size), want[i].size, want[i].data,
                            want[i].size);
        }
        g_assert_cmpstr(s, ==, want[i].string);
        prev_end = end;
    }
    g_assert_cmphex(prev_end, <, 128 * MiB);

    g_unlink(a);
    g_unlink(bc);
    g_unlink(empty);
    g_rmdir(dir);
}

static void test_module_missing(void)
{
    g_autoptr(GByteArray) img = elf32_simple();
    g_autoptr(GError) err = NULL;
    struct fixture f;

    fixture_init(&f, 128 * MiB, 0);
    f.cfg.initrd = (char *)"/nonexistent/module args";
    g_assert_cmpint(load(&f, img, &err), <, 0);
    g_assert_cmpstr(err->message, ==,
                    "Failed to open file '/nonexistent/module': No such file or directory");
    g_assert_false(f.m.has_boot_state);
}

/* ---- the memory map ---- */

struct mmap_entry {
    uint64_t base, len;
    uint32_t type;
};

static unsigned read_mmap(uint64_t info, struct mmap_entry *e, unsigned max)
{
    uint64_t addr = rd32(info + 48), end = addr + rd32(info + 44);
    unsigned n = 0;

    g_assert_cmpuint(rd32(info) & (1 << 6), !=, 0);
    while (addr < end) {
        uint32_t size = rd32(addr);

        g_assert_cmpuint(n, <, max);
        g_assert_cmpuint(size, ==, 20);
        e[n].base = rd64(addr + 4);
        e[n].len = rd64(addr + 12);
        e[n].type = rd32(addr + 20);
        n++;
        addr += size + 4;
    }
    return n;
}

static void test_mmap_low(void)
{
    g_autoptr(GByteArray) img = elf32_simple();
    g_autoptr(GError) err = NULL;
    struct mmap_entry e[8];
    struct fixture f;

    fixture_init(&f, 128 * MiB, 0);
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    g_assert_cmpuint(read_mmap(f.m.boot_state.regs[R_EBX], e, 8), ==, 2);
    g_assert_cmphex(e[0].base, ==, 0);
    g_assert_cmphex(e[0].len, ==, 0xa0000);
    g_assert_cmpuint(e[0].type, ==, 1);
    g_assert_cmphex(e[1].base, ==, 0x100000);
    g_assert_cmphex(e[1].len, ==, 127 * MiB);
    g_assert_cmpuint(e[1].type, ==, 1);
}

/* -m 4G on microvm: 3 GiB below the hole, 1 GiB above 4 GiB. */
static void test_mmap_high(void)
{
    g_autoptr(GByteArray) img = elf32_simple();
    g_autoptr(GError) err = NULL;
    struct mmap_entry e[8];
    struct fixture f;
    uint64_t info;

    fixture_init(&f, 3 * GiB, 1 * GiB);
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    info = f.m.boot_state.regs[R_EBX];
    g_assert_cmpuint(read_mmap(info, e, 8), ==, 3);
    g_assert_cmphex(e[0].base, ==, 0);
    g_assert_cmphex(e[0].len, ==, 0xa0000);
    g_assert_cmphex(e[1].base, ==, 0x100000);
    g_assert_cmphex(e[1].len, ==, 3 * GiB - MiB);
    g_assert_cmphex(e[2].base, ==, 4 * GiB);
    g_assert_cmphex(e[2].len, ==, 1 * GiB);
    g_assert_cmpuint(e[2].type, ==, 1);
    /* mem_upper covers only the RAM contiguous from 1 MiB. */
    g_assert_cmpuint(rd32(info + 8), ==, (3 * GiB - MiB) / 1024);
}

/* Less than 640 KiB: mem_lower shrinks, nothing from 1 MiB. */
static void test_mmap_tiny(void)
{
    const struct seg segs[] = {
        { .off = 0x1000, .paddr = 0x10000, .filesz = 0x1000, .memsz = 0x1000 },
    };
    g_autoptr(GByteArray) img = elf_new(false, 0x10000, segs, 1, 0x2000);
    g_autoptr(GError) err = NULL;
    struct mmap_entry e[8];
    struct fixture f;
    uint64_t info;

    fixture_init(&f, 512 * 1024, 0);
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    info = f.m.boot_state.regs[R_EBX];
    g_assert_cmpuint(rd32(info + 4), ==, 512);
    g_assert_cmpuint(rd32(info + 8), ==, 0);
    g_assert_cmpuint(read_mmap(info, e, 8), ==, 1);
    g_assert_cmphex(e[0].len, ==, 512 * 1024);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/multiboot/probe", test_probe);
    g_test_add_func("/multiboot/elf32/load", test_elf32_load);
    g_test_add_func("/multiboot/elf32/cmdline-without-append", test_cmdline_without_append);
    g_test_add_func("/multiboot/elf32/virtual-entry", test_elf32_virtual_entry);
    g_test_add_func("/multiboot/elf64/load", test_elf64_load);
    g_test_add_func("/multiboot/elf64/high-entry", test_elf64_high_entry);
    g_test_add_func("/multiboot/elf/wrong-machine", test_elf_wrong_machine);
    g_test_add_func("/multiboot/aout/load", test_aout_load);
    g_test_add_func("/multiboot/aout/whole-file", test_aout_whole_file);
    g_test_add_func("/multiboot/aout/bad", test_aout_bad);
    g_test_add_func("/multiboot/bad/outside-ram", test_segments_outside_ram);
    g_test_add_func("/multiboot/bad/sizes", test_bad_sizes);
    g_test_add_func("/multiboot/bad/header-flags", test_header_flags);
    g_test_add_func("/multiboot/bad/no-room", test_no_room_for_info);
    g_test_add_func("/multiboot/info-skips-hole", test_info_skips_hole);
    g_test_add_func("/multiboot/modules", test_modules);
    g_test_add_func("/multiboot/module-missing", test_module_missing);
    g_test_add_func("/multiboot/mmap/low", test_mmap_low);
    g_test_add_func("/multiboot/mmap/high", test_mmap_high);
    g_test_add_func("/multiboot/mmap/tiny", test_mmap_tiny);
    return g_test_run();
}
