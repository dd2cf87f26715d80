/*
 * The PVH loader: small ELF kernels built here in memory go into a fresh
 * guest RAM; the tests read back what the kernel finds there (its bytes,
 * struct hvm_start_info with the command line, the memory map and the
 * initrd module, the GDT) and its entry registers, and feed it broken
 * files that must be refused with a message naming them.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "machine/e820.h"
#include "machine/machine.h"
#include "machine/pvh.h"
#include "system/config.h"
#include "system/memory.h"
#include "tests/unit/image-bytes.h"

#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define PATH "/images/vmlinux"
#define RSDP 0xe0000

/* ---- building images ---- */

struct seg {
    uint32_t type;           /* 0 means PT_LOAD */
    uint64_t off, vaddr, paddr, filesz, memsz, align;
};

#define PHOFF 0x40
#define NOTE_OFF 0x3000
#define IMG_SIZE 0x3100
#define ENTRY 0x100040

/*
 * Notes at NOTE_OFF: a GNU build ID first (skipped over), then Xen's
 * PHYS32_ENTRY with a descriptor of desc_size bytes (0: no Xen note).
 * Returns the notes' length.
 */
static size_t put_notes(GByteArray *b, unsigned desc_size, uint64_t entry)
{
    size_t p = NOTE_OFF;

    put32(b, p, 4);                     /* "GNU\0" */
    put32(b, p + 4, 20);
    put32(b, p + 8, 3);                 /* NT_GNU_BUILD_ID */
    memcpy(b->data + p + 12, "GNU", 4);
    p += 12 + 4 + 20;
    put32(b, p, 4);                     /* "Xen\0", a note of another type */
    put32(b, p + 4, 8);
    put32(b, p + 8, 3);
    memcpy(b->data + p + 12, "Xen", 4);
    put64(b, p + 16, 0xffffffff80000000ull);
    p += 12 + 4 + 8;
    if (desc_size) {
        put32(b, p, 4);
        put32(b, p + 4, desc_size);
        put32(b, p + 8, 18);            /* XEN_ELFNOTE_PHYS32_ENTRY */
        memcpy(b->data + p + 12, "Xen", 4);
        if (desc_size == 8) {
            put64(b, p + 16, entry);
        } else {
            put32(b, p + 16, entry);
        }
        p += 12 + 4 + desc_size;
    }
    return p - NOTE_OFF;
}

/*
 * An ELF executable with its program headers at PHOFF and segment file
 * bytes filled with a pattern derived from the offset.
 */
static GByteArray *elf_new(bool is64, const struct seg *segs, unsigned n)
{
    GByteArray *b = g_byte_array_sized_new(IMG_SIZE);

    g_byte_array_set_size(b, IMG_SIZE);
    memset(b->data, 0, IMG_SIZE);
    for (size_t i = 0x1000; i < NOTE_OFF; i++) {
        b->data[i] = (uint8_t)(i * 7 + 1);
    }
    memcpy(b->data, "\x7f" "ELF", 4);
    b->data[4] = is64 ? 2 : 1;
    b->data[5] = 1;
    b->data[6] = 1;
    put16(b, 16, 2);
    put16(b, 18, is64 ? 62 : 3);
    put32(b, 20, 1);
    if (is64) {
        put64(b, 24, 0x1000000);        /* e_entry: not the PVH entry */
        put64(b, 32, PHOFF);
        put16(b, 52, 64);
        put16(b, 54, 56);
        put16(b, 56, n);
    } else {
        put32(b, 24, 0x1000000);
        put32(b, 28, PHOFF);
        put16(b, 40, 52);
        put16(b, 42, 32);
        put16(b, 44, n);
    }
    for (unsigned i = 0; i < n; i++) {
        const struct seg *s = &segs[i];
        uint32_t type = s->type ? s->type : 1;

        if (is64) {
            size_t p = PHOFF + i * 56;

            put32(b, p, type);
            put64(b, p + 8, s->off);
            put64(b, p + 16, s->vaddr);
            put64(b, p + 24, s->paddr);
            put64(b, p + 32, s->filesz);
            put64(b, p + 40, s->memsz);
            put64(b, p + 48, s->align);
        } else {
            size_t p = PHOFF + i * 32;

            put32(b, p, type);
            put32(b, p + 4, s->off);
            put32(b, p + 8, s->vaddr);
            put32(b, p + 12, s->paddr);
            put32(b, p + 16, s->filesz);
            put32(b, p + 20, s->memsz);
            put32(b, p + 28, s->align);
        }
    }
    return b;
}

/* Linux's shape: text linked high, data with a bss behind it, a PT_NOTE. */
static GByteArray *elf64_kernel(uint64_t text_paddr, uint64_t data_off, uint64_t data_filesz)
{
    struct seg segs[] = {
        { .off = 0x1000, .vaddr = 0xffffffff81000000ull, .paddr = text_paddr,
          .filesz = 0x1000, .memsz = 0x1000, .align = 0x1000 },
        { .off = data_off, .vaddr = 0xffffffff81100000ull, .paddr = 0x200000,
          .filesz = data_filesz, .memsz = 0x3000, .align = 0x1000 },
        { .type = 4, .off = NOTE_OFF, .paddr = 0x50000, .align = 4 },
    };
    GByteArray *b;

    b = elf_new(true, segs, G_N_ELEMENTS(segs));
    put64(b, PHOFF + 2 * 56 + 32, put_notes(b, 8, ENTRY));
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
    /* Dirty RAM so zero fill and untouched bytes are visible. */
    memset(ram_hva(0, MIN(low, 4 * MiB)), 0xaa, MIN(low, 4 * MiB));
}

static int load(struct fixture *f, GByteArray *img, GError **err)
{
    return pvh_load(&f->m, PATH, img->data, img->len, RSDP, err);
}

static char *write_tmp(const void *data, size_t len)
{
    g_autoptr(GError) err = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("hyvm-pvh-XXXXXX", &path, &err);

    g_assert_no_error(err);
    g_assert_cmpint(write(fd, data, len), ==, (ssize_t)len);
    close(fd);
    return path;
}

/* Loading must fail with a message starting with prefix and containing what,
 * leaving the boot state unset and the kernel's RAM untouched. */
static void expect_refused_by(struct fixture *f, GByteArray *img, const char *prefix,
                              const char *what)
{
    g_autoptr(GError) err = NULL;

    g_assert_cmpint(load(f, img, &err), <, 0);
    g_assert_nonnull(err);
    if (!g_str_has_prefix(err->message, prefix) || !strstr(err->message, what)) {
        g_error("message '%s' lacks '%s' or '%s'", err->message, prefix, what);
    }
    g_assert_false(f->m.has_boot_state);
    g_assert_cmphex(*(uint8_t *)ram_hva(0x100000, 1), ==, 0xaa);
    g_assert_cmphex(*(uint8_t *)ram_hva(PVH_INFO_ADDR, 1), ==, 0xaa);
}

static void expect_refused(GByteArray *img, const char *what)
{
    struct fixture f;

    fixture_init(&f, 128 * MiB, 0);
    expect_refused_by(&f, img, "-kernel " PATH ": ", what);
}

/* ---- tests ---- */

static void test_probe(void)
{
    g_autoptr(GByteArray) img = elf64_kernel(0x100000, 0x2000, 0x800);

    g_assert_true(pvh_probe(img->data, img->len));
    g_assert_false(pvh_probe(NULL, 0));
    g_assert_false(pvh_probe(img->data, 40));
    /* The notes cut off by the end of the file. */
    g_assert_false(pvh_probe(img->data, NOTE_OFF + 0x30));
    /* A bzImage-like file. */
    memset(img->data, 0, 0x40);
    memcpy(img->data + 0x202, "HdrS", 4);
    g_assert_false(pvh_probe(img->data, img->len));
}

static void test_elf64_load(void)
{
    g_autoptr(GByteArray) img = elf64_kernel(0x100000, 0x2000, 0x800);
    static const uint8_t initrd[] = "070701 an initramfs";
    g_autofree char *initrd_path = write_tmp(initrd, sizeof(initrd));
    g_autoptr(GError) err = NULL;
    struct fixture f;
    const struct x86_cpu_state *s = &f.m.boot_state;
    struct e820_entry map[X86_E820_MAX];
    unsigned nmap;
    uint64_t si = PVH_INFO_ADDR, mod, mm, gdt;
    uint8_t *p;

    fixture_init(&f, 128 * MiB, 0);
    f.cfg.append = (char *)"console=ttyS0 quiet";
    f.cfg.initrd = initrd_path;
    g_assert_cmpint(load(&f, img, &err), ==, 0);
    g_assert_no_error(err);
    g_unlink(initrd_path);

    /* The segments at p_paddr, the bss zeroed, nothing else touched. */
    p = ram_hva(0x100000, 0x1000);
    g_assert_cmpmem(p, 0x1000, img->data + 0x1000, 0x1000);
    p = ram_hva(0x200000, 0x3000);
    g_assert_cmpmem(p, 0x800, img->data + 0x2000, 0x800);
    for (unsigned i = 0x800; i < 0x3000; i++) {
        g_assert_cmpuint(p[i], ==, 0);
    }
    g_assert_cmphex(*(uint8_t *)ram_hva(0x101000, 1), ==, 0xaa);
    g_assert_cmphex(*(uint8_t *)ram_hva(0x50000, 1), ==, 0xaa);    /* PT_NOTE */

    /* struct hvm_start_info. */
    g_assert_cmphex(rd32(si + PVH_SI_MAGIC), ==, 0x336ec578);
    g_assert_cmpuint(rd32(si + PVH_SI_VERSION), ==, 1);
    g_assert_cmpuint(rd32(si + PVH_SI_FLAGS), ==, 0);
    g_assert_cmphex(rd64(si + PVH_SI_RSDP_PADDR), ==, RSDP);
    g_assert_cmpstr(ram_hva(rd64(si + PVH_SI_CMDLINE_PADDR), 1), ==, "console=ttyS0 quiet");

    /* The initrd: one module, page aligned, at the top of RAM. */
    g_assert_cmpuint(rd32(si + PVH_SI_NR_MODULES), ==, 1);
    mod = rd64(si + PVH_SI_MODLIST_PADDR);
    g_assert_cmpuint(rd64(mod + 8), ==, sizeof(initrd));
    g_assert_cmphex(rd64(mod), ==, (128 * MiB - sizeof(initrd)) & ~0xfffull);
    g_assert_cmpmem(ram_hva(rd64(mod), sizeof(initrd)), sizeof(initrd), initrd,
                    sizeof(initrd));

    /* The memory map is the machine's E820 map. */
    nmap = x86_e820_build(&f.m, map, X86_E820_MAX);
    g_assert_cmpuint(nmap, ==, 4);
    g_assert_cmpuint(rd32(si + PVH_SI_MEMMAP_ENTRIES), ==, nmap);
    mm = rd64(si + PVH_SI_MEMMAP_PADDR);
    for (unsigned i = 0; i < nmap; i++) {
        uint64_t e = mm + i * PVH_MEMMAP_ENTRY_SIZE;

        g_assert_cmphex(rd64(e), ==, map[i].addr);
        g_assert_cmphex(rd64(e + 8), ==, map[i].size);
        g_assert_cmpuint(rd32(e + 16), ==, map[i].type);
    }
    /* The blocks stay below 1 MiB and clear of one another. */
    g_assert_cmphex(mod, >=, si + PVH_SI_SIZE);
    g_assert_cmphex(mm, >=, mod + PVH_MODLIST_ENTRY_SIZE);

    /* The entry state: flat 32-bit protected mode, EBX -> start_info. */
    g_assert_true(f.m.has_boot_state);
    g_assert_cmphex(s->rip, ==, ENTRY);
    g_assert_cmphex(s->regs[R_EBX], ==, PVH_INFO_ADDR);
    g_assert_cmphex(s->rflags, ==, 0x2);
    g_assert_cmphex(s->cr0 & (CR0_PE | CR0_PG), ==, CR0_PE);
    g_assert_cmphex(s->cr4, ==, 0);
    g_assert_cmphex(s->efer, ==, 0);
    g_assert_cmphex(s->seg[S_CS].selector, ==, 0x10);
    g_assert_cmphex(s->seg[S_CS].base, ==, 0);
    g_assert_cmphex(s->seg[S_CS].limit, ==, 0xffffffff);
    g_assert_true(s->seg[S_CS].db && !s->seg[S_CS].l && s->seg[S_CS].present);
    g_assert_cmphex(s->seg[S_CS].type, ==, 0xb);
    for (int i = 0; i < S__MAX; i++) {
        if (i == S_DS || i == S_ES || i == S_SS || i == S_FS || i == S_GS) {
            g_assert_cmphex(s->seg[i].selector, ==, 0x18);
            g_assert_cmphex(s->seg[i].base, ==, 0);
            g_assert_cmphex(s->seg[i].limit, ==, 0xffffffff);
            g_assert_cmphex(s->seg[i].type, ==, 0x3);
            g_assert_true(s->seg[i].db);
        }
    }
    g_assert_cmphex(s->seg[S_TR].base, ==, 0);
    g_assert_cmphex(s->seg[S_TR].limit, ==, 0x67);
    g_assert_cmphex(s->seg[S_TR].type, ==, 0xb);
    /* The GDT in RAM holds what the selectors' caches say. */
    gdt = s->gdt.base;
    g_assert_cmpuint(s->gdt.limit, >=, 0x1f);
    g_assert_cmphex(gdt + s->gdt.limit, <, 0x100000);
    g_assert_cmphex(rd64(gdt), ==, 0);
    g_assert_cmphex(rd64(gdt + 0x10), ==, 0x00cf9b000000ffffull);
    g_assert_cmphex(rd64(gdt + 0x18), ==, 0x00cf93000000ffffull);
    g_assert_false(gdt < mm + X86_E820_MAX * PVH_MEMMAP_ENTRY_SIZE && gdt + 0x20 > si);
}

/* ELF32 with a 4-byte entry note found only through its SHT_NOTE section;
 * no initrd, no -append, no RSDP; RAM above 4 GiB too. */
static void test_elf32_section_note(void)
{
    const struct seg segs[] = {
        { .off = 0x1000, .vaddr = 0x100000, .paddr = 0x100000, .filesz = 0x2000,
          .memsz = 0x2000 },
    };
    g_autoptr(GByteArray) img = elf_new(false, segs, 1);
    g_autoptr(GError) err = NULL;
    size_t notes = put_notes(img, 4, 0x101000);
    struct fixture f;
    size_t sh = 0x3080;

    /* Section headers: a null one, then SHT_NOTE over the notes. */
    put32(img, 32, sh);                 /* e_shoff */
    put16(img, 46, 40);                 /* e_shentsize */
    put16(img, 48, 2);                  /* e_shnum */
    put32(img, sh + 40 + 4, 7);
    put32(img, sh + 40 + 16, NOTE_OFF);
    put32(img, sh + 40 + 20, notes);
    put32(img, sh + 40 + 32, 4);
    g_assert_true(pvh_probe(img->data, img->len));

    fixture_init(&f, 2 * GiB, 1 * GiB);
    g_assert_cmpint(pvh_load(&f.m, PATH, img->data, img->len, 0, &err), ==, 0);
    g_assert_no_error(err);
    g_assert_cmpmem(ram_hva(0x100000, 0x2000), 0x2000, img->data + 0x1000, 0x2000);
    g_assert_cmphex(f.m.boot_state.rip, ==, 0x101000);
    g_assert_cmpuint(rd32(PVH_INFO_ADDR + PVH_SI_NR_MODULES), ==, 0);
    g_assert_cmphex(rd64(PVH_INFO_ADDR + PVH_SI_RSDP_PADDR), ==, 0);
    g_assert_cmpstr(ram_hva(rd64(PVH_INFO_ADDR + PVH_SI_CMDLINE_PADDR), 1), ==, "");
    /* Low RAM, the reserved EBDA and BIOS area, RAM from 1 MiB and above 4 GiB. */
    g_assert_cmpuint(rd32(PVH_INFO_ADDR + PVH_SI_MEMMAP_ENTRIES), ==, 5);
}

static void test_refuse_truncated_header(void)
{
    g_autoptr(GByteArray) img = elf64_kernel(0x100000, 0x2000, 0x800);

    g_byte_array_set_size(img, 60);      /* inside the 64-byte ELF64 header */
    expect_refused(img, "ELF header is cut short");
    g_byte_array_set_size(img, 3);
    expect_refused(img, "not an ELF file");
}

static void test_refuse_outside_ram(void)
{
    g_autoptr(GByteArray) high = elf64_kernel(128 * MiB - 0x800, 0x2000, 0x800);
    g_autoptr(GByteArray) hole = elf64_kernel(0xc0000, 0x2000, 0x800);

    /* The text straddles the end of RAM. */
    expect_refused(high, "segment 0 at 0x7fff800 (0x1000 bytes) is outside guest RAM "
                   "(0x0-0x9fbff, 0x100000-0x7ffffff)");
    /* In the BIOS area the memory map reserves. */
    expect_refused(hole, "is outside guest RAM");
}

static void test_refuse_beyond_file(void)
{
    g_autoptr(GByteArray) img = elf64_kernel(0x100000, 0x2f00, 0x800);

    expect_refused(img, "segment 1: file bytes 0x2f00+0x800 lie beyond the end of the "
                   "file (0x3100 bytes)");
}

static void test_refuse_no_note(void)
{
    g_autoptr(GByteArray) img = elf64_kernel(0x100000, 0x2000, 0x800);

    /* The PHYS32_ENTRY note's type changed to another Xen note's. */
    put32(img, NOTE_OFF + 36 + 24 + 8, 17);
    g_assert_false(pvh_probe(img->data, img->len));
    expect_refused(img, "no PVH entry point");
}

static void test_refuse_other(void)
{
    g_autoptr(GByteArray) img = elf64_kernel(0x100000, 0x2000, 0x800);
    g_autoptr(GByteArray) over = elf64_kernel(0x5800, 0x2000, 0x800);
    g_autoptr(GByteArray) entry = elf64_kernel(0x100000, 0x2000, 0x800);
    g_autofree char *big = g_malloc(PVH_CMDLINE_MAX + 1);
    g_autofree char *initrd_path = NULL;
    g_autofree uint8_t *initrd_data = NULL;
    struct fixture f;

    /* The entry note points outside the loaded bytes. */
    put_notes(entry, 8, 0x180000);
    expect_refused(entry, "entry point 0x180000 is not inside the loaded image");
    /* The text would cover start_info. */
    expect_refused(over, "overlaps the boot information");
    /* An -append longer than the room for it. */
    fixture_init(&f, 128 * MiB, 0);
    memset(big, 'x', PVH_CMDLINE_MAX);
    big[PVH_CMDLINE_MAX] = 0;
    f.cfg.append = big;
    expect_refused_by(&f, img, "-kernel " PATH ": ", "command line (65536 bytes)");
    /* An initrd that does not exist, and one with no room above the kernel. */
    fixture_init(&f, 128 * MiB, 0);
    f.cfg.initrd = (char *)"/nonexistent/initrd.img";
    expect_refused_by(&f, img, "error reading initrd /nonexistent/initrd.img: ", "");
    initrd_data = g_malloc0(1 * MiB);
    initrd_path = write_tmp(initrd_data, 1 * MiB);
    fixture_init(&f, 2 * MiB + 0x3000, 0);
    f.cfg.initrd = initrd_path;
    expect_refused_by(&f, img, "-initrd ", "do not fit in guest RAM");
    g_unlink(initrd_path);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/pvh/probe", test_probe);
    g_test_add_func("/pvh/elf64-load", test_elf64_load);
    g_test_add_func("/pvh/elf32-section-note", test_elf32_section_note);
    g_test_add_func("/pvh/refuse/truncated-header", test_refuse_truncated_header);
    g_test_add_func("/pvh/refuse/outside-ram", test_refuse_outside_ram);
    g_test_add_func("/pvh/refuse/beyond-file", test_refuse_beyond_file);
    g_test_add_func("/pvh/refuse/no-note", test_refuse_no_note);
    g_test_add_func("/pvh/refuse/other", test_refuse_other);
    return g_test_run();
}
