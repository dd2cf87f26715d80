/*
 * PVH direct boot of an ELF kernel (Xen's x86/HVM direct boot ABI, the
 * comment at the top of xen/include/public/arch-x86/hvm/start_info.h, and
 * Linux's arch/x86/platform/pvh, its user here).
 *
 * The file is checked whole before anything goes into guest RAM: the ELF
 * header, every PT_LOAD segment against the file's length and against the
 * memory map the guest will be given, the entry note, the command line's
 * length and the initrd's room.  A bad file ends in one line naming it.
 *
 * Threads: main thread, while the machine is built (before any vCPU runs).
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "machine/boot-file.h"
#include "machine/e820.h"
#include "machine/machine-internal.h"
#include "machine/machine.h"
#include "machine/pvh.h"
#include "system/config.h"
#include "system/error.h"
#include "system/le.h"
#include "system/memory.h"

/* ELF (System V gABI; the i386 and x86-64 psABIs for the machine numbers). */
#define ELF_CLASS32 1
#define ELF_CLASS64 2
#define ELF_DATA_LSB 1
#define ELF_ET_EXEC 2
#define ELF_EM_386 3
#define ELF_EM_X86_64 62
#define ELF_PT_LOAD 1
#define ELF_PT_NOTE 4
#define ELF_SHT_NOTE 7
#define ELF32_EHDR_SIZE 52
#define ELF64_EHDR_SIZE 64
#define ELF32_PHDR_SIZE 32
#define ELF64_PHDR_SIZE 56
#define ELF32_SHDR_SIZE 40
#define ELF64_SHDR_SIZE 64
#define ELF_NOTE_HDR_SIZE 12     /* namesz, descsz, type: 32 bits each */

/* The block at PVH_INFO_ADDR (pvh.h), offsets inside it. */
#define PVH_MODLIST_OFF 0x40
#define PVH_MEMMAP_OFF 0x80
#define PVH_GDT_OFF 0x200
#define PVH_INFO_SIZE 0x1000
#define PVH_GDT_ENTRIES 4        /* null, unused, code (0x10), data (0x18) */
G_STATIC_ASSERT(PVH_MEMMAP_OFF + X86_E820_MAX * PVH_MEMMAP_ENTRY_SIZE <= PVH_GDT_OFF);

/* Flat 4 GiB descriptors (SDM vol. 3, 3.4.5): G, D/B, P, S; types 0xb/0x3. */
#define GDT_CODE32 0x00cf9b000000ffffull
#define GDT_DATA32 0x00cf93000000ffffull
/* The start_info ABI's TR: a 32-bit TSS with base 0 and limit 0x67. */
#define PVH_TR_LIMIT 0x67

#define PVH_PAGE 4096ull
#define FOUR_GIB (1ull << 32)

struct pvh_segment {
    uint64_t paddr, off, filesz, memsz;
};

struct pvh_loader {
    const char *path;
    const uint8_t *buf;
    size_t len;
    bool is64;
    uint64_t phoff, shoff;
    unsigned phnum, phentsize, shnum, shentsize;
    /* The memory map the guest gets, and the image within it. */
    struct e820_entry map[X86_E820_MAX];
    unsigned nmap;
    GArray *segs;            /* struct pvh_segment, sorted by paddr */
    uint64_t entry;
    uint64_t image_end;
};

/* A field of the ELF32 or ELF64 layout, whichever the file has. */
static uint64_t ld_word(const struct pvh_loader *l, const uint8_t *p, unsigned off32,
                        unsigned off64)
{
    return l->is64 ? ld64(p + off64) : ld32(p + off32);
}

static int pvh_fail(const struct pvh_loader *l, GError **errp, const char *fmt, ...)
    G_GNUC_PRINTF(3, 4);

static int pvh_fail(const struct pvh_loader *l, GError **errp, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "-kernel %s: %s", l->path, msg);
    return -EINVAL;
}

/* [off, off + n * size) lies inside the file. */
static bool pvh_in_file(const struct pvh_loader *l, uint64_t off, uint64_t n, uint64_t size)
{
    /* Callers pass 16-bit counts and sizes, or n = 1: no overflow. */
    return off <= l->len && n * size <= l->len - off;
}

/* The ELF header of an x86 executable, and where its tables are. */
static int pvh_parse_ehdr(struct pvh_loader *l, GError **errp)
{
    const uint8_t *e = l->buf;
    unsigned machine;

    if (!e || l->len < 4 || memcmp(e, "\x7f" "ELF", 4)) {
        return pvh_fail(l, errp, "not an ELF file");
    }
    if (l->len < ELF32_EHDR_SIZE) {
        return pvh_fail(l, errp, "the ELF header is cut short by the end of the file "
                        "(0x%zx bytes)", l->len);
    }
    if (e[4] != ELF_CLASS32 && e[4] != ELF_CLASS64) {
        return pvh_fail(l, errp, "unknown ELF class %u", e[4]);
    }
    l->is64 = e[4] == ELF_CLASS64;
    if (l->is64 && l->len < ELF64_EHDR_SIZE) {
        return pvh_fail(l, errp, "the ELF header is cut short by the end of the file "
                        "(0x%zx bytes)", l->len);
    }
    if (e[5] != ELF_DATA_LSB) {
        return pvh_fail(l, errp, "not a little-endian ELF file");
    }
    if (ld16(e + 16) != ELF_ET_EXEC) {
        return pvh_fail(l, errp, "not an ELF executable (e_type %u)", ld16(e + 16));
    }
    machine = ld16(e + 18);
    if (machine != ELF_EM_X86_64 && machine != ELF_EM_386) {
        return pvh_fail(l, errp, "ELF file for machine %u, not x86", machine);
    }
    l->phoff = ld_word(l, e, 28, 32);
    l->shoff = ld_word(l, e, 32, 40);
    l->phentsize = ld16(e + (l->is64 ? 54 : 42));
    l->phnum = ld16(e + (l->is64 ? 56 : 44));
    l->shentsize = ld16(e + (l->is64 ? 58 : 46));
    l->shnum = ld16(e + (l->is64 ? 60 : 48));

    if (l->phnum == 0) {
        return pvh_fail(l, errp, "the ELF file has no program headers");
    }
    if (l->phentsize < (l->is64 ? ELF64_PHDR_SIZE : ELF32_PHDR_SIZE)) {
        return pvh_fail(l, errp, "ELF program header size %u is too small", l->phentsize);
    }
    if (!pvh_in_file(l, l->phoff, l->phnum, l->phentsize)) {
        return pvh_fail(l, errp, "the ELF program headers lie beyond the end of the file");
    }
    /* Section headers are optional (stripped files); ignore broken ones. */
    if (l->shoff == 0 || l->shentsize < (l->is64 ? ELF64_SHDR_SIZE : ELF32_SHDR_SIZE) ||
        !pvh_in_file(l, l->shoff, l->shnum, l->shentsize)) {
        l->shnum = 0;
    }
    return 0;
}

/*
 * Walks the notes in file bytes [off, off+size) (gABI "Note Section"):
 * each is namesz, descsz, type, then the name and the descriptor, both
 * padded to the note alignment.  Finds Xen's PHYS32_ENTRY, a 32- or 64-bit
 * physical address (Linux's is pointer sized).
 */
static bool pvh_scan_notes(const struct pvh_loader *l, uint64_t off, uint64_t size,
                           uint64_t align, uint64_t *entry)
{
    const uint8_t *p;
    uint64_t pos = 0;

    if (!pvh_in_file(l, off, 1, size)) {
        return false;
    }
    p = l->buf + off;
    align = align == 8 ? 8 : 4;
    while (size - pos >= ELF_NOTE_HDR_SIZE) {
        uint64_t namesz = ld32(p + pos), descsz = ld32(p + pos + 4);
        uint32_t type = ld32(p + pos + 8);
        uint64_t name = pos + ELF_NOTE_HDR_SIZE;
        uint64_t desc = name + align_up(namesz, align);

        if (desc > size || descsz > size - desc) {
            return false;
        }
        if (namesz == sizeof(XEN_ELFNOTE_NAME) &&
            !memcmp(p + name, XEN_ELFNOTE_NAME, sizeof(XEN_ELFNOTE_NAME)) &&
            type == XEN_ELFNOTE_PHYS32_ENTRY && (descsz == 4 || descsz == 8)) {
            *entry = descsz == 4 ? ld32(p + desc) : ld64(p + desc);
            return true;
        }
        pos = desc + align_up(descsz, align);
    }
    return false;
}

/* The entry note, from the PT_NOTE segments or else the SHT_NOTE sections. */
static bool pvh_find_entry(const struct pvh_loader *l, uint64_t *entry)
{
    for (unsigned i = 0; i < l->phnum; i++) {
        const uint8_t *ph = l->buf + l->phoff + (uint64_t)i * l->phentsize;

        if (ld32(ph) == ELF_PT_NOTE &&
            pvh_scan_notes(l, ld_word(l, ph, 4, 8), ld_word(l, ph, 16, 32),
                           ld_word(l, ph, 28, 48), entry)) {
            return true;
        }
    }
    for (unsigned i = 0; i < l->shnum; i++) {
        const uint8_t *sh = l->buf + l->shoff + (uint64_t)i * l->shentsize;

        if (ld32(sh + 4) == ELF_SHT_NOTE &&
            pvh_scan_notes(l, ld_word(l, sh, 16, 24), ld_word(l, sh, 20, 32),
                           ld_word(l, sh, 32, 48), entry)) {
            return true;
        }
    }
    return false;
}

bool pvh_probe(const uint8_t *buf, size_t len)
{
    struct pvh_loader l = { .path = "", .buf = buf, .len = len };
    uint64_t entry;

    return pvh_parse_ehdr(&l, NULL) == 0 && pvh_find_entry(&l, &entry);
}

/* [gpa, gpa+len) lies inside one RAM entry of the guest's memory map. */
static bool pvh_in_ram(const struct pvh_loader *l, uint64_t gpa, uint64_t len)
{
    if (len == 0 || gpa + len < gpa) {
        return false;
    }
    for (unsigned i = 0; i < l->nmap; i++) {
        const struct e820_entry *e = &l->map[i];

        if (e->type == E820_RAM && gpa >= e->addr && gpa + len <= e->addr + e->size) {
            return ram_hva(gpa, len) != NULL;
        }
    }
    return false;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static const char *pvh_ram_desc(const struct pvh_loader *l)
{
    static char desc[256];
    size_t n = 0;

    desc[0] = 0;
    for (unsigned i = 0; i < l->nmap && n < sizeof(desc); i++) {
        const struct e820_entry *e = &l->map[i];

        if (e->type == E820_RAM) {
            n += snprintf(desc + n, sizeof(desc) - n, "%s0x%" PRIx64 "-0x%" PRIx64,
                          n ? ", " : "", e->addr, e->addr + e->size - 1);
        }
    }
    return desc;
}

static int pvh_add_segment(struct pvh_loader *l, const struct pvh_segment *s, unsigned idx,
                           uint64_t cmdline_len, GError **errp)
{
    if (s->filesz > s->memsz) {
        return pvh_fail(l, errp, "segment %u: file size 0x%" PRIx64 " is larger than "
                        "its memory size 0x%" PRIx64, idx, s->filesz, s->memsz);
    }
    if (s->off > l->len || s->filesz > l->len - s->off) {
        return pvh_fail(l, errp, "segment %u: file bytes 0x%" PRIx64 "+0x%" PRIx64
                        " lie beyond the end of the file (0x%zx bytes)",
                        idx, s->off, s->filesz, l->len);
    }
    if (s->memsz == 0) {
        return 0;
    }
    if (!pvh_in_ram(l, s->paddr, s->memsz)) {
        return pvh_fail(l, errp, "segment %u at 0x%" PRIx64 " (0x%" PRIx64 " bytes) is "
                        "outside guest RAM (%s)", idx, s->paddr, s->memsz, pvh_ram_desc(l));
    }
    if (overlaps(s->paddr, s->memsz, PVH_INFO_ADDR, PVH_INFO_SIZE) ||
        overlaps(s->paddr, s->memsz, PVH_CMDLINE_ADDR, cmdline_len)) {
        return pvh_fail(l, errp, "segment %u at 0x%" PRIx64 "-0x%" PRIx64 " overlaps the "
                        "boot information hyvm puts at 0x%llx and 0x%llx", idx, s->paddr,
                        s->paddr + s->memsz - 1, PVH_INFO_ADDR, PVH_CMDLINE_ADDR);
    }
    g_array_append_val(l->segs, *s);
    return 0;
}

static gint pvh_segment_cmp(gconstpointer a, gconstpointer b)
{
    const struct pvh_segment *x = a, *y = b;

    return x->paddr < y->paddr ? -1 : x->paddr > y->paddr;
}

/* The PT_LOAD segments at their physical addresses (p_paddr). */
static int pvh_parse_segments(struct pvh_loader *l, uint64_t cmdline_len, GError **errp)
{
    bool entry_ok = false;
    int ret;

    for (unsigned i = 0; i < l->phnum; i++) {
        const uint8_t *ph = l->buf + l->phoff + (uint64_t)i * l->phentsize;
        struct pvh_segment s;

        if (ld32(ph) != ELF_PT_LOAD) {
            continue;
        }
        s.off = ld_word(l, ph, 4, 8);
        s.paddr = ld_word(l, ph, 12, 24);
        s.filesz = ld_word(l, ph, 16, 32);
        s.memsz = ld_word(l, ph, 20, 40);
        ret = pvh_add_segment(l, &s, i, cmdline_len, errp);
        if (ret < 0) {
            return ret;
        }
    }
    if (l->segs->len == 0) {
        return pvh_fail(l, errp, "the ELF file has nothing to load");
    }
    g_array_sort(l->segs, pvh_segment_cmp);
    for (unsigned i = 0; i < l->segs->len; i++) {
        const struct pvh_segment *s = &g_array_index(l->segs, struct pvh_segment, i);

        if (i > 0) {
            const struct pvh_segment *p = &g_array_index(l->segs, struct pvh_segment, i - 1);

            if (p->paddr + p->memsz > s->paddr) {
                return pvh_fail(l, errp, "segments at 0x%" PRIx64 " and 0x%" PRIx64
                                " overlap", p->paddr, s->paddr);
            }
        }
        if (l->entry >= s->paddr && l->entry - s->paddr < s->filesz) {
            entry_ok = true;
        }
        l->image_end = MAX(l->image_end, s->paddr + s->memsz);
    }
    if (!entry_ok) {
        return pvh_fail(l, errp, "the PVH entry point 0x%" PRIx64 " is not inside the "
                        "loaded image", l->entry);
    }
    return 0;
}

/*
 * The initrd goes page aligned to the top of the highest RAM below 4 GiB,
 * as QEMU places it, and must stay above the kernel.
 */
static int pvh_place_initrd(struct pvh_loader *l, const char *initrd, uint64_t size,
                            uint64_t *gpa, GError **errp)
{
    uint64_t floor = align_up(l->image_end, PVH_PAGE);

    for (unsigned i = l->nmap; i-- > 0;) {
        const struct e820_entry *e = &l->map[i];
        uint64_t top = MIN(e->addr + e->size, FOUR_GIB);
        uint64_t at;

        if (e->type != E820_RAM || e->addr >= FOUR_GIB || size > top) {
            continue;
        }
        at = (top - size) & ~(PVH_PAGE - 1);
        if (at >= e->addr && at >= floor && at >= PC_HIGH_RAM_START &&
            pvh_in_ram(l, at, MAX(size, 1))) {
            *gpa = at;
            return 0;
        }
    }
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "-initrd %s: 0x%" PRIx64 " bytes do "
                "not fit in guest RAM below 4 GiB above the kernel (which ends at 0x%"
                PRIx64 "; RAM is %s)", initrd, size, l->image_end, pvh_ram_desc(l));
    return -E2BIG;
}

static void pvh_write_image(const struct pvh_loader *l)
{
    for (unsigned i = 0; i < l->segs->len; i++) {
        const struct pvh_segment *s = &g_array_index(l->segs, struct pvh_segment, i);
        /* pvh_add_segment checked that all of it is RAM. */
        uint8_t *p = ram_hva(s->paddr, s->memsz);

        memcpy(p, l->buf + s->off, s->filesz);
        memset(p + s->filesz, 0, s->memsz - s->filesz);
    }
}

/* start_info, the module list, the memory map and the GDT in one page. */
static void pvh_build_info(const struct pvh_loader *l, uint8_t *blk, uint64_t rsdp,
                           uint64_t initrd_gpa, uint64_t initrd_size, bool has_initrd)
{
    st32(blk + PVH_SI_MAGIC, PVH_START_INFO_MAGIC);
    st32(blk + PVH_SI_VERSION, PVH_START_INFO_VERSION);
    st64(blk + PVH_SI_CMDLINE_PADDR, PVH_CMDLINE_ADDR);
    st64(blk + PVH_SI_RSDP_PADDR, rsdp);
    if (has_initrd) {
        uint8_t *mod = blk + PVH_MODLIST_OFF;

        st32(blk + PVH_SI_NR_MODULES, 1);
        st64(blk + PVH_SI_MODLIST_PADDR, PVH_INFO_ADDR + PVH_MODLIST_OFF);
        st64(mod, initrd_gpa);
        st64(mod + 8, initrd_size);
    }
    for (unsigned i = 0; i < l->nmap; i++) {
        uint8_t *e = blk + PVH_MEMMAP_OFF + (size_t)i * PVH_MEMMAP_ENTRY_SIZE;

        st64(e, l->map[i].addr);
        st64(e + 8, l->map[i].size);
        st32(e + 16, l->map[i].type);
    }
    st64(blk + PVH_SI_MEMMAP_PADDR, PVH_INFO_ADDR + PVH_MEMMAP_OFF);
    st32(blk + PVH_SI_MEMMAP_ENTRIES, l->nmap);

    st64(blk + PVH_GDT_OFF + PVH_CS_SELECTOR, GDT_CODE32);
    st64(blk + PVH_GDT_OFF + PVH_DS_SELECTOR, GDT_DATA32);
}

/*
 * The entry state of start_info.h: EBX the start_info address; CS a flat
 * 32-bit code segment, DS/ES/SS flat data; CR0.PE set and the other
 * writable bits clear, CR4 clear; EFLAGS.VM, IF and TF clear; TR a 32-bit
 * TSS with base 0 and limit 0x67.  The selectors index a GDT in guest RAM,
 * so a kernel that reloads one before loading its own GDT keeps working.
 */
static void pvh_set_state(struct machine *m, uint32_t entry)
{
    struct x86_cpu_state *s = &m->boot_state;

    x86_cpu_state_flat32(s, entry);
    s->seg[S_CS].selector = PVH_CS_SELECTOR;
    s->seg[S_DS].selector = PVH_DS_SELECTOR;
    s->seg[S_ES].selector = PVH_DS_SELECTOR;
    s->seg[S_SS].selector = PVH_DS_SELECTOR;
    s->seg[S_FS].selector = PVH_DS_SELECTOR;
    s->seg[S_GS].selector = PVH_DS_SELECTOR;
    s->seg[S_TR].limit = PVH_TR_LIMIT;
    s->gdt.base = PVH_INFO_ADDR + PVH_GDT_OFF;
    s->gdt.limit = PVH_GDT_ENTRIES * 8 - 1;
    s->regs[R_EBX] = PVH_INFO_ADDR;
    s->rflags = RFLAGS_FIXED;
    m->has_boot_state = true;
}

int pvh_load(struct machine *m, const char *path, const uint8_t *buf, size_t len,
             uint64_t rsdp_paddr, GError **errp)
{
    const struct hyvm_config *cfg = m->cfg;
    struct pvh_loader l = { .path = path, .buf = buf, .len = len };
    /* -append, and on microvm its virtio-mmio transports (QEMU's fw_cfg edit). */
    g_autofree char *cmdline = microvm_kernel_cmdline(m, cfg && cfg->append ? cfg->append : "");
    const char *initrd = cfg ? cfg->initrd : NULL;
    uint64_t cmdline_len = strlen(cmdline) + 1;
    struct boot_file initrd_file = { .fd = -1 };
    g_autofree uint8_t *blk = NULL;
    gsize initrd_size = 0;
    uint64_t initrd_gpa = 0;
    int ret;

    l.segs = g_array_new(FALSE, FALSE, sizeof(struct pvh_segment));
    ret = pvh_parse_ehdr(&l, errp);
    if (ret < 0) {
        goto out;
    }
    if (!pvh_find_entry(&l, &l.entry)) {
        ret = pvh_fail(&l, errp, "no PVH entry point (Xen ELF note %d) in the ELF file; "
                       "a Linux vmlinux needs CONFIG_PVH", XEN_ELFNOTE_PHYS32_ENTRY);
        goto out;
    }
    if (l.entry >= FOUR_GIB) {
        ret = pvh_fail(&l, errp, "the PVH entry point 0x%" PRIx64 " is not below 4 GiB",
                       l.entry);
        goto out;
    }
    if (cmdline_len > PVH_CMDLINE_MAX) {
        ret = pvh_fail(&l, errp, "the command line (%" PRIu64 " bytes) is longer than the "
                       "%llu bytes PVH boot has room for", cmdline_len - 1,
                       PVH_CMDLINE_MAX - 1);
        goto out;
    }
    l.nmap = x86_e820_build(m, l.map, X86_E820_MAX);
    if (!pvh_in_ram(&l, PVH_INFO_ADDR, PVH_INFO_SIZE) ||
        !pvh_in_ram(&l, PVH_CMDLINE_ADDR, cmdline_len)) {
        ret = pvh_fail(&l, errp, "PVH boot needs guest RAM at 0x%llx-0x%llx (RAM is %s)",
                       PVH_INFO_ADDR, PVH_CMDLINE_ADDR + PVH_CMDLINE_MAX - 1,
                       pvh_ram_desc(&l));
        goto out;
    }
    ret = pvh_parse_segments(&l, cmdline_len, errp);
    if (ret < 0) {
        goto out;
    }
    if (initrd) {
        g_autoptr(GError) err = NULL;

        /* QEMU's wording for an initrd it cannot read. */
        if (boot_file_open(&initrd_file, initrd, &err) < 0) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "error reading initrd %s: %s",
                        initrd, err->message);
            ret = -EIO;
            goto out;
        }
        initrd_size = initrd_file.len;
        ret = pvh_place_initrd(&l, initrd, initrd_size, &initrd_gpa, errp);
        if (ret < 0) {
            goto out;
        }
    }

    /* Every check passed: from here on only writes to RAM checked above. */
    pvh_write_image(&l);
    /* Page-aligned: the initrd's pages are the file's, copy-on-write. */
    if (initrd && boot_file_to_ram(&initrd_file, 0, initrd_size, initrd_gpa) < 0) {
        ret = pvh_fail(&l, errp, "the initrd at 0x%" PRIx64 " is outside RAM", initrd_gpa);
        goto out;
    }
    memcpy(ram_hva(PVH_CMDLINE_ADDR, cmdline_len), cmdline, cmdline_len);
    blk = g_malloc0(PVH_INFO_SIZE);
    pvh_build_info(&l, blk, rsdp_paddr, initrd_gpa, initrd_size, initrd != NULL);
    memcpy(ram_hva(PVH_INFO_ADDR, PVH_INFO_SIZE), blk, PVH_INFO_SIZE);
    pvh_set_state(m, l.entry);
    ret = 0;
out:
    boot_file_close(&initrd_file);
    g_array_free(l.segs, TRUE);
    return ret;
}
