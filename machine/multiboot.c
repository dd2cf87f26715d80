/*
 * Multiboot v1 loader (The Multiboot Specification, version 0.6.96).
 *
 * -kernel names an OS image with a Multiboot header in its first 8 KiB
 * (3.1.1).  Its text and data come from the ELF program headers (ELF32, or
 * ELF64 whose entry lies below 4 GiB) or, when header flag bit 16 is set,
 * from the "a.out kludge" address fields of the header itself (3.1.3).
 * Behind the image, page aligned, hyvm places one block holding the
 * Multiboot information structure (3.3), the memory map, the module list
 * and the strings, then each -initrd module on its own page.  Everything is
 * written straight into guest RAM: there is no BIOS or option ROM in
 * between, so the vCPU starts at the kernel's entry point in the machine
 * state of 3.2.
 *
 * Every number read from the file is checked before anything is written:
 * the file is the user's, but a bad one must end with one clear line naming
 * it, never with a host crash or a half-loaded guest.
 *
 * Threads: main thread, while the machine is built (before any vCPU runs).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "machine/boot-file.h"
#include "machine/machine.h"
#include "machine/multiboot.h"
#include "system/config.h"
#include "system/error.h"
#include "system/le.h"
#include "system/memory.h"

/* 3.1.1: the header lies 32-bit aligned inside the first 8192 bytes. */
#define MB_SEARCH_LEN 8192

/* Header fields (3.1.2, 3.1.3), byte offsets. */
enum {
    MBH_MAGIC = 0,
    MBH_FLAGS = 4,
    MBH_CHECKSUM = 8,
    MBH_HEADER_ADDR = 12,
    MBH_LOAD_ADDR = 16,
    MBH_LOAD_END_ADDR = 20,
    MBH_BSS_END_ADDR = 24,
    MBH_ENTRY_ADDR = 28,
    MBH_AOUT_SIZE = 32,      /* the header up to and including entry_addr */
};

/* Header flags (3.1.2).  Bits 0-15 are requirements a loader must refuse
 * when it cannot meet them; bits 16-31 are optional features. */
#define MBH_F_PAGE_ALIGN (1u << 0)   /* modules page aligned: always done */
#define MBH_F_MEMINFO (1u << 1)      /* mem_* fields: always given */
#define MBH_F_VIDEO (1u << 2)        /* video mode table: not offered */
#define MBH_F_AOUT_KLUDGE (1u << 16)
#define MBH_F_REQUIRED 0x0000ffffu
#define MBH_F_KNOWN (MBH_F_PAGE_ALIGN | MBH_F_MEMINFO | MBH_F_VIDEO)

/* The information structure (3.3), byte offsets. */
enum {
    MBI_FLAGS = 0,
    MBI_MEM_LOWER = 4,
    MBI_MEM_UPPER = 8,
    MBI_CMDLINE = 16,
    MBI_MODS_COUNT = 20,
    MBI_MODS_ADDR = 24,
    MBI_MMAP_LENGTH = 44,
    MBI_MMAP_ADDR = 48,
    MBI_BOOT_LOADER_NAME = 64,
    MBI_SIZE = 116,          /* through the framebuffer fields of 0.6.96 */
};

#define MBI_F_MEM (1u << 0)
#define MBI_F_CMDLINE (1u << 2)
#define MBI_F_MODS (1u << 3)
#define MBI_F_MMAP (1u << 6)
#define MBI_F_LOADER_NAME (1u << 9)

/* A module entry (3.3): mod_start, mod_end, string, reserved. */
#define MB_MOD_SIZE 16
/* A memory map entry (3.3): size (not counting itself), base, length, type. */
#define MB_MMAP_ENTRY_SIZE 24
#define MB_MMAP_AVAILABLE 1

#define MB_BOOTLOADER_NAME "hyvm"
#define MB_PAGE 4096ull
#define FOUR_GIB (1ull << 32)

/* ELF (System V gABI; the i386 and x86-64 psABIs for the machine numbers). */
#define ELF_CLASS32 1
#define ELF_CLASS64 2
#define ELF_DATA_LSB 1
#define ELF_ET_EXEC 2
#define ELF_EM_386 3
#define ELF_EM_X86_64 62
#define ELF_PT_LOAD 1
#define ELF32_EHDR_SIZE 52
#define ELF64_EHDR_SIZE 64
#define ELF32_PHDR_SIZE 32
#define ELF64_PHDR_SIZE 56

#define MB_MAX_RANGES (RAM_MAX_REGIONS * 2)

struct mb_range {
    uint64_t start, end;     /* [start, end) */
};

/* One piece of the image: file bytes [off, off+filesz), zeros up to memsz. */
struct mb_segment {
    uint64_t paddr, vaddr, off, filesz, memsz;
};

struct mb_module {
    char *string;            /* as given: "path args" */
    struct boot_file file;   /* mapped, and mapped into RAM (page-aligned) */
    gsize size;
    uint64_t gpa;
    uint64_t string_gpa;
};

struct mb_loader {
    const char *path;
    const uint8_t *buf;
    size_t len;
    /* Guest RAM as the memory map shows it, ascending. */
    struct mb_range ram[MB_MAX_RANGES];
    unsigned nram;
    GArray *segs;            /* struct mb_segment */
    uint64_t entry;
    uint64_t cursor;         /* next free guest address behind the image */
};

/* Offset of a valid header (magic, and flags + checksum summing to zero). */
static bool mb_find_header(const uint8_t *buf, size_t len, size_t *off)
{
    size_t limit = MIN(len, (size_t)MB_SEARCH_LEN);

    for (size_t i = 0; i + 12 <= limit; i += 4) {
        uint32_t magic = ld32(buf + i + MBH_MAGIC);

        if (magic == MULTIBOOT_HEADER_MAGIC &&
            (uint32_t)(magic + ld32(buf + i + MBH_FLAGS) + ld32(buf + i + MBH_CHECKSUM)) == 0) {
            *off = i;
            return true;
        }
    }
    return false;
}

bool multiboot_probe(const uint8_t *buf, size_t len)
{
    size_t off;

    return buf && mb_find_header(buf, len, &off);
}

static int mb_fail(struct mb_loader *l, GError **errp, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static int mb_fail(struct mb_loader *l, GError **errp, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "-kernel %s: %s", l->path, msg);
    return -EINVAL;
}

/*
 * The RAM a guest may use: every RAM region minus the legacy hole between
 * 640 KiB and 1 MiB (VGA memory and ROMs on a PC), which the memory map
 * leaves out as the BIOS's E820 map does.
 */
static void mb_collect_ram(struct mb_loader *l)
{
    l->nram = 0;
    for (unsigned i = 0; i < ram_region_count(); i++) {
        const struct ram_region *r = ram_region_get(i);
        uint64_t start = r->gpa, end = r->gpa + r->size;

        if (start < PC_LOW_RAM_END && end > PC_HIGH_RAM_START) {
            l->ram[l->nram++] = (struct mb_range){ start, PC_LOW_RAM_END };
            l->ram[l->nram++] = (struct mb_range){ PC_HIGH_RAM_START, end };
        } else if (start < PC_HIGH_RAM_START && end > PC_LOW_RAM_END) {
            /* Only part of the region lies outside the hole. */
            if (start < PC_LOW_RAM_END) {
                l->ram[l->nram++] = (struct mb_range){ start, PC_LOW_RAM_END };
            } else if (end > PC_HIGH_RAM_START) {
                l->ram[l->nram++] = (struct mb_range){ PC_HIGH_RAM_START, end };
            }
        } else if (end > start) {
            l->ram[l->nram++] = (struct mb_range){ start, end };
        }
    }
    /* Few entries: insertion sort by start. */
    for (unsigned i = 1; i < l->nram; i++) {
        struct mb_range t = l->ram[i];
        unsigned j = i;

        for (; j > 0 && l->ram[j - 1].start > t.start; j--) {
            l->ram[j] = l->ram[j - 1];
        }
        l->ram[j] = t;
    }
}

/* [gpa, gpa+len) lies inside one usable RAM range (len > 0, no wrap). */
static bool mb_in_ram(const struct mb_loader *l, uint64_t gpa, uint64_t len)
{
    if (len == 0 || gpa + len < gpa) {
        return false;
    }
    for (unsigned i = 0; i < l->nram; i++) {
        if (gpa >= l->ram[i].start && gpa + len <= l->ram[i].end) {
            return ram_hva(gpa, len) != NULL;
        }
    }
    return false;
}

static const char *mb_ram_desc(const struct mb_loader *l)
{
    static char desc[256];
    size_t n = 0;

    desc[0] = 0;
    for (unsigned i = 0; i < l->nram && n < sizeof(desc); i++) {
        n += snprintf(desc + n, sizeof(desc) - n, "%s0x%" PRIx64 "-0x%" PRIx64,
                      i ? ", " : "", l->ram[i].start, l->ram[i].end - 1);
    }
    return desc;
}

/* Checks one piece of the image and records it; zero-sized ones are dropped. */
static int mb_add_segment(struct mb_loader *l, const struct mb_segment *s, unsigned idx,
                          GError **errp)
{
    if (s->filesz > s->memsz) {
        return mb_fail(l, errp, "segment %u: file size 0x%" PRIx64 " is larger than "
                       "its memory size 0x%" PRIx64, idx, s->filesz, s->memsz);
    }
    if (s->off > l->len || s->filesz > l->len - s->off) {
        return mb_fail(l, errp, "segment %u: file bytes 0x%" PRIx64 "+0x%" PRIx64
                       " lie beyond the end of the file (0x%zx bytes)",
                       idx, s->off, s->filesz, l->len);
    }
    if (s->memsz == 0) {
        return 0;
    }
    if (s->memsz > UINT64_MAX - s->paddr || s->paddr + s->memsz > FOUR_GIB) {
        return mb_fail(l, errp, "segment %u at 0x%" PRIx64 " (0x%" PRIx64 " bytes) does not "
                       "fit below 4 GiB, as Multiboot requires", idx, s->paddr, s->memsz);
    }
    if (!mb_in_ram(l, s->paddr, s->memsz)) {
        return mb_fail(l, errp, "segment %u at 0x%" PRIx64 "-0x%" PRIx64 " is outside "
                       "guest RAM (%s)", idx, s->paddr, s->paddr + s->memsz - 1,
                       mb_ram_desc(l));
    }
    g_array_append_val(l->segs, *s);
    return 0;
}

static gint mb_segment_cmp(gconstpointer a, gconstpointer b)
{
    const struct mb_segment *x = a, *y = b;

    return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

/* No two pieces overlap; the entry point is inside loaded bytes. */
static int mb_check_image(struct mb_loader *l, GError **errp)
{
    bool entry_ok = false;

    if (l->segs->len == 0) {
        return mb_fail(l, errp, "the image has nothing to load");
    }
    g_array_sort(l->segs, mb_segment_cmp);
    for (unsigned i = 0; i < l->segs->len; i++) {
        const struct mb_segment *s = &g_array_index(l->segs, struct mb_segment, i);

        if (i > 0) {
            const struct mb_segment *p = &g_array_index(l->segs, struct mb_segment, i - 1);

            if (p->paddr + p->memsz > s->paddr) {
                return mb_fail(l, errp, "segments at 0x%" PRIx64 " and 0x%" PRIx64
                               " overlap", p->paddr, s->paddr);
            }
        }
        if (l->entry >= s->paddr && l->entry - s->paddr < s->filesz) {
            entry_ok = true;
        }
        l->cursor = MAX(l->cursor, s->paddr + s->memsz);
    }
    if (!entry_ok) {
        return mb_fail(l, errp, "entry point 0x%" PRIx64 " is not inside the loaded image",
                       l->entry);
    }
    return 0;
}

/* 3.1.3: the header's own address fields say where the file goes. */
static int mb_parse_aout(struct mb_loader *l, size_t hdr, GError **errp)
{
    const uint8_t *h = l->buf + hdr;
    uint64_t header_addr, load_addr, load_end, bss_end, load_size, mem_size;
    struct mb_segment s;

    if (l->len - hdr < MBH_AOUT_SIZE) {
        return mb_fail(l, errp, "the Multiboot header is cut short by the end of the file");
    }
    header_addr = ld32(h + MBH_HEADER_ADDR);
    load_addr = ld32(h + MBH_LOAD_ADDR);
    load_end = ld32(h + MBH_LOAD_END_ADDR);
    bss_end = ld32(h + MBH_BSS_END_ADDR);
    l->entry = ld32(h + MBH_ENTRY_ADDR);

    if (header_addr < load_addr || header_addr - load_addr > hdr) {
        return mb_fail(l, errp, "invalid load_addr 0x%" PRIx64 " for header_addr 0x%" PRIx64
                       " (the header is at file offset 0x%zx)", load_addr, header_addr, hdr);
    }
    s.off = hdr - (header_addr - load_addr);
    if (load_end) {
        if (load_end < load_addr) {
            return mb_fail(l, errp, "invalid load_end_addr 0x%" PRIx64 " below load_addr 0x%"
                           PRIx64, load_end, load_addr);
        }
        load_size = load_end - load_addr;
    } else {
        load_size = l->len - s.off;     /* 0: the rest of the file */
    }
    if (bss_end) {
        if (bss_end < load_addr + load_size) {
            return mb_fail(l, errp, "invalid bss_end_addr 0x%" PRIx64 " below the end of "
                           "the loaded data 0x%" PRIx64, bss_end, load_addr + load_size);
        }
        mem_size = bss_end - load_addr;
    } else {
        mem_size = load_size;
    }
    s.paddr = s.vaddr = load_addr;
    s.filesz = load_size;
    s.memsz = mem_size;
    return mb_add_segment(l, &s, 0, errp);
}

/* The PT_LOAD program headers of an ELF32 or ELF64 executable. */
static int mb_parse_elf(struct mb_loader *l, GError **errp)
{
    const uint8_t *e = l->buf;
    bool is64;
    unsigned machine, phentsize, phnum, want_phsize;
    uint64_t phoff;
    int ret;

    if (l->len < ELF32_EHDR_SIZE || memcmp(e, "\x7f" "ELF", 4)) {
        return mb_fail(l, errp, "the Multiboot header does not set the a.out kludge "
                       "(flag bit 16) and the file is not ELF");
    }
    if (e[4] != ELF_CLASS32 && e[4] != ELF_CLASS64) {
        return mb_fail(l, errp, "unknown ELF class %u", e[4]);
    }
    is64 = e[4] == ELF_CLASS64;
    if (e[5] != ELF_DATA_LSB) {
        return mb_fail(l, errp, "not a little-endian ELF file");
    }
    if (is64 && l->len < ELF64_EHDR_SIZE) {
        return mb_fail(l, errp, "the ELF header is cut short by the end of the file");
    }
    if (ld16(e + 16) != ELF_ET_EXEC) {
        return mb_fail(l, errp, "not an ELF executable (e_type %u)", ld16(e + 16));
    }
    machine = ld16(e + 18);
    if (machine != (is64 ? ELF_EM_X86_64 : ELF_EM_386)) {
        return mb_fail(l, errp, "ELF%d file for machine %u, not %s", is64 ? 64 : 32, machine,
                       is64 ? "x86-64" : "i386");
    }
    if (is64) {
        l->entry = ld64(e + 24);
        phoff = ld64(e + 32);
        phentsize = ld16(e + 54);
        phnum = ld16(e + 56);
        want_phsize = ELF64_PHDR_SIZE;
    } else {
        l->entry = ld32(e + 24);
        phoff = ld32(e + 28);
        phentsize = ld16(e + 42);
        phnum = ld16(e + 44);
        want_phsize = ELF32_PHDR_SIZE;
    }
    if (phnum == 0) {
        return mb_fail(l, errp, "the ELF file has no program headers");
    }
    if (phentsize < want_phsize) {
        return mb_fail(l, errp, "ELF program header size %u is too small", phentsize);
    }
    /* phnum and phentsize are 16-bit: the product cannot overflow. */
    if (phoff > l->len || (uint64_t)phnum * phentsize > l->len - phoff) {
        return mb_fail(l, errp, "the ELF program headers lie beyond the end of the file");
    }
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = e + phoff + (uint64_t)i * phentsize;
        struct mb_segment s;

        if (ld32(ph) != ELF_PT_LOAD) {
            continue;
        }
        if (is64) {
            s.off = ld64(ph + 8);
            s.vaddr = ld64(ph + 16);
            s.paddr = ld64(ph + 24);
            s.filesz = ld64(ph + 32);
            s.memsz = ld64(ph + 40);
        } else {
            s.off = ld32(ph + 4);
            s.vaddr = ld32(ph + 8);
            s.paddr = ld32(ph + 12);
            s.filesz = ld32(ph + 16);
            s.memsz = ld32(ph + 20);
        }
        ret = mb_add_segment(l, &s, i, errp);
        if (ret < 0) {
            return ret;
        }
    }
    /*
     * A kernel linked to run high (virtual != physical addresses) names its
     * entry virtually; paging is off at entry, so translate it through the
     * segment that holds it, as GRUB does.
     */
    for (unsigned i = 0; i < l->segs->len; i++) {
        const struct mb_segment *s = &g_array_index(l->segs, struct mb_segment, i);

        if (s->vaddr != s->paddr && l->entry >= s->vaddr && l->entry - s->vaddr < s->memsz) {
            l->entry = s->paddr + (l->entry - s->vaddr);
            break;
        }
    }
    if (l->entry >= FOUR_GIB) {
        return mb_fail(l, errp, "entry point 0x%" PRIx64 " is not below 4 GiB; a Multiboot "
                       "kernel starts in 32-bit mode", l->entry);
    }
    return 0;
}

/* Page-aligned room for size bytes at or above the cursor, below 4 GiB. */
static int mb_alloc(struct mb_loader *l, uint64_t size, const char *what, uint64_t *gpa,
                    GError **errp)
{
    uint64_t at = align_up(l->cursor, MB_PAGE);
    uint64_t need = MAX(size, 1);

    for (unsigned i = 0; i < l->nram; i++) {
        uint64_t start = MAX(at, align_up(l->ram[i].start, MB_PAGE));
        uint64_t end = MIN(l->ram[i].end, FOUR_GIB);

        if (start < end && need <= end - start && mb_in_ram(l, start, need)) {
            *gpa = start;
            l->cursor = start + size;
            return 0;
        }
    }
    return mb_fail(l, errp, "no room in guest RAM below 4 GiB behind the kernel for %s "
                   "(0x%" PRIx64 " bytes); RAM is %s", what, size, mb_ram_desc(l));
}

/*
 * -initrd "file1 args,file2": modules separated by commas, ",," standing for
 * a comma inside one.  A module's string is all of its text; the file name
 * ends at the first space (QEMU's convention).
 */
static GPtrArray *mb_split_modules(const char *spec)
{
    GPtrArray *mods = g_ptr_array_new_with_free_func(g_free);
    GString *cur = g_string_new(NULL);

    for (const char *p = spec;; p++) {
        if (*p == ',' && p[1] == ',') {
            g_string_append_c(cur, ',');
            p++;
        } else if (*p == ',' || *p == 0) {
            g_ptr_array_add(mods, g_string_free(cur, FALSE));
            if (*p == 0) {
                break;
            }
            cur = g_string_new(NULL);
        } else {
            g_string_append_c(cur, *p);
        }
    }
    return mods;
}

static void mb_module_clear(gpointer p)
{
    struct mb_module *mod = p;

    g_free(mod->string);
    boot_file_close(&mod->file);
}

static int mb_read_modules(struct mb_loader *l, const char *spec, GArray *mods, GError **errp)
{
    g_autoptr(GPtrArray) parts = mb_split_modules(spec);

    for (unsigned i = 0; i < parts->len; i++) {
        const char *s = g_ptr_array_index(parts, i);
        g_autofree char *file = g_strndup(s, strcspn(s, " "));
        g_autoptr(GError) err = NULL;
        struct mb_module mod = { 0 };

        /* QEMU's wording for a module it cannot read, with the reason. */
        if (boot_file_open(&mod.file, file, &err) < 0) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "Failed to open file '%s': %s",
                        file, err->message);
            return -EIO;
        }
        mod.size = mod.file.len;
        mod.string = g_strdup(s);
        g_array_append_val(mods, mod);
    }
    return 0;
}

/* The information block: MBI, memory map, module list, then the strings. */
static int mb_write_info(struct mb_loader *l, const char *cmdline, GArray *mods,
                         uint64_t *info_gpa, GError **errp)
{
    size_t mmap_off = MBI_SIZE;
    size_t mods_off = mmap_off + (size_t)l->nram * MB_MMAP_ENTRY_SIZE;
    size_t str_off = mods_off + (size_t)mods->len * MB_MOD_SIZE;
    size_t size = str_off + strlen(cmdline) + 1 + strlen(MB_BOOTLOADER_NAME) + 1;
    g_autofree uint8_t *blk = NULL;
    uint64_t base, lower = 0, upper = 0;
    size_t pos;
    int ret;

    for (unsigned i = 0; i < mods->len; i++) {
        size += strlen(g_array_index(mods, struct mb_module, i).string) + 1;
    }
    ret = mb_alloc(l, size, "the Multiboot information", &base, errp);
    if (ret < 0) {
        return ret;
    }
    /* Modules go on their own pages behind the block (header flag bit 0). */
    for (unsigned i = 0; i < mods->len; i++) {
        struct mb_module *mod = &g_array_index(mods, struct mb_module, i);
        g_autofree char *what = g_strdup_printf("module '%s'", mod->string);

        ret = mb_alloc(l, mod->size, what, &mod->gpa, errp);
        if (ret < 0) {
            return ret;
        }
    }

    blk = g_malloc0(size);
    /* 3.3: mem_lower from 0, mem_upper from 1 MiB, both in KiB. */
    for (unsigned i = 0; i < l->nram; i++) {
        if (l->ram[i].start == 0) {
            lower = MIN(l->ram[i].end, PC_LOW_RAM_END) / 1024;
        }
        if (l->ram[i].start == PC_HIGH_RAM_START) {
            upper = (l->ram[i].end - PC_HIGH_RAM_START) / 1024;
        }
    }
    st32(blk + MBI_MEM_LOWER, lower);
    st32(blk + MBI_MEM_UPPER, MIN(upper, UINT32_MAX));

    for (unsigned i = 0; i < l->nram; i++) {
        uint8_t *e = blk + mmap_off + (size_t)i * MB_MMAP_ENTRY_SIZE;

        st32(e, MB_MMAP_ENTRY_SIZE - 4);
        st64(e + 4, l->ram[i].start);
        st64(e + 12, l->ram[i].end - l->ram[i].start);
        st32(e + 20, MB_MMAP_AVAILABLE);
    }
    st32(blk + MBI_MMAP_LENGTH, l->nram * MB_MMAP_ENTRY_SIZE);
    st32(blk + MBI_MMAP_ADDR, base + mmap_off);

    pos = str_off;
    st32(blk + MBI_CMDLINE, base + pos);
    memcpy(blk + pos, cmdline, strlen(cmdline) + 1);
    pos += strlen(cmdline) + 1;
    st32(blk + MBI_BOOT_LOADER_NAME, base + pos);
    memcpy(blk + pos, MB_BOOTLOADER_NAME, sizeof(MB_BOOTLOADER_NAME));
    pos += sizeof(MB_BOOTLOADER_NAME);

    for (unsigned i = 0; i < mods->len; i++) {
        const struct mb_module *mod = &g_array_index(mods, struct mb_module, i);
        uint8_t *e = blk + mods_off + (size_t)i * MB_MOD_SIZE;
        size_t n = strlen(mod->string) + 1;

        st32(e, mod->gpa);
        st32(e + 4, mod->gpa + mod->size);
        st32(e + 8, base + pos);
        memcpy(blk + pos, mod->string, n);
        pos += n;
    }
    st32(blk + MBI_MODS_COUNT, mods->len);
    st32(blk + MBI_MODS_ADDR, base + mods_off);

    /*
     * No boot_device (bit 1): the kernel did not come from a BIOS disk.
     * MODS is set even with no module, as QEMU does: mods_count says 0.
     */
    st32(blk + MBI_FLAGS, MBI_F_MEM | MBI_F_CMDLINE | MBI_F_MODS | MBI_F_MMAP |
         MBI_F_LOADER_NAME);

    if (ram_write(base, blk, size) < 0) {
        return mb_fail(l, errp, "could not write the Multiboot information at 0x%" PRIx64,
                       base);
    }
    for (unsigned i = 0; i < mods->len; i++) {
        const struct mb_module *mod = &g_array_index(mods, struct mb_module, i);

        if (boot_file_to_ram(&mod->file, 0, mod->size, mod->gpa) < 0) {
            return mb_fail(l, errp, "could not write module '%s' at 0x%" PRIx64,
                           mod->string, mod->gpa);
        }
    }
    *info_gpa = base;
    return 0;
}

static int mb_write_image(struct mb_loader *l, GError **errp)
{
    for (unsigned i = 0; i < l->segs->len; i++) {
        const struct mb_segment *s = &g_array_index(l->segs, struct mb_segment, i);
        /* Checked by mb_add_segment: all of it is RAM. */
        uint8_t *p = ram_hva(s->paddr, s->memsz);

        if (!p) {
            return mb_fail(l, errp, "segment at 0x%" PRIx64 " is not in RAM", s->paddr);
        }
        memcpy(p, l->buf + s->off, s->filesz);
        memset(p + s->filesz, 0, s->memsz - s->filesz);
    }
    return 0;
}

int multiboot_load(struct machine *m, const char *kernel_path,
                   const uint8_t *buf, size_t len, GError **errp)
{
    const struct hyvm_config *cfg = m->cfg;
    struct mb_loader l = { .path = kernel_path, .buf = buf, .len = len };
    g_autoptr(GArray) mods = g_array_new(FALSE, TRUE, sizeof(struct mb_module));
    g_autofree char *cmdline = NULL;
    struct x86_cpu_state *s = &m->boot_state;
    uint64_t info = 0;
    uint32_t flags;
    size_t hdr;
    int ret;

    g_array_set_clear_func(mods, mb_module_clear);
    if (!buf || !mb_find_header(buf, len, &hdr)) {
        return mb_fail(&l, errp, "no Multiboot header in the first 8192 bytes");
    }
    flags = ld32(buf + hdr + MBH_FLAGS);
    /* 3.1.2: an unknown requirement (bits 0-15) means the kernel cannot be loaded. */
    if (flags & MBH_F_REQUIRED & ~MBH_F_KNOWN) {
        return mb_fail(&l, errp, "the Multiboot header requires features hyvm does not "
                       "offer (flags 0x%08x)", flags & MBH_F_REQUIRED & ~MBH_F_KNOWN);
    }
    if (flags & MBH_F_VIDEO) {
        /* QEMU boots such kernels too, with a warning: they get no video mode. */
        warn_report("-kernel %s: the Multiboot header asks for a video mode; "
                    "hyvm offers none and starts the kernel without one", kernel_path);
    }

    mb_collect_ram(&l);
    l.segs = g_array_new(FALSE, FALSE, sizeof(struct mb_segment));
    ret = flags & MBH_F_AOUT_KLUDGE ? mb_parse_aout(&l, hdr, errp) : mb_parse_elf(&l, errp);
    if (ret < 0) {
        goto out;
    }
    ret = mb_check_image(&l, errp);
    if (ret < 0) {
        goto out;
    }

    if (cfg && cfg->initrd) {
        ret = mb_read_modules(&l, cfg->initrd, mods, errp);
        if (ret < 0) {
            goto out;
        }
    }
    /* As QEMU does: the kernel's path, a space, then -append. */
    cmdline = g_strdup_printf("%s %s", kernel_path, cfg && cfg->append ? cfg->append : "");

    ret = mb_write_image(&l, errp);
    if (ret < 0) {
        goto out;
    }
    ret = mb_write_info(&l, cmdline, mods, &info, errp);
    if (ret < 0) {
        goto out;
    }

    /*
     * 3.2 "Machine state": EAX holds the boot loader magic, EBX the info
     * address; CS a 32-bit read/execute segment with offset 0 and limit
     * 0xffffffff; DS, ES, FS, GS, SS flat read/write data; CR0.PG clear and
     * CR0.PE set; EFLAGS.VM (bit 17) and IF (bit 9) clear.  A20 is on: the
     * accelerators never mask address line 20.
     */
    x86_cpu_state_flat32(s, l.entry);
    s->regs[R_EAX] = MULTIBOOT_BOOTLOADER_MAGIC;
    s->regs[R_EBX] = info;
    s->rflags = RFLAGS_FIXED;
    m->has_boot_state = true;
    ret = 0;
out:
    g_array_free(l.segs, TRUE);
    return ret;
}
