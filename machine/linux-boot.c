/*
 * Loading a Linux bzImage for its 64-bit entry (Documentation/arch/x86/
 * boot.rst, "64-bit Boot Protocol"), the way microVM monitors boot it
 * without firmware: the protected-mode kernel at 1 MiB, a zero page
 * (struct boot_params) with the kernel's own setup header, the memory map
 * and the command line, the initrd as high as the kernel allows, and the
 * vCPU in long mode on identity-mapped page tables at startup_64.
 *
 * Layout below 1 MiB (conventional memory, clear of the vector table and
 * BIOS data area at 0-0x4ff, the EBDA and the BIOS area):
 *   0x0500  GDT: null, null, __BOOT_CS (0x10, 64-bit code), __BOOT_DS (0x18)
 *   0x1000  PML4, 0x2000 PDPT, 0x3000-0x6fff four page directories of
 *           2 MiB pages: the first 4 GiB identity-mapped
 *   0x7000  the zero page (4 KiB)
 *   0x20000 the command line (up to cmdline_size, at most 64 KiB)
 *
 * Everything read from the file is checked against the file's length;
 * every guest range against RAM.  A bad file gets one error naming it.
 *
 * Threads: main thread, while the machine is built.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "machine/boot-file.h"
#include "machine/e820.h"
#include "machine/linux-boot.h"
#include "machine/machine-internal.h"
#include "machine/machine.h"
#include "system/config.h"
#include "system/error.h"
#include "system/le.h"
#include "system/memory.h"

/* boot_params offsets (Documentation/arch/x86/zero-page.rst). */
#define BP_ACPI_RSDP_ADDR 0x070
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8
#define BP_HDR 0x1f1
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128

/* Setup header offsets, from the start of the image (boot.rst, "The Real-Mode Kernel Header"). */
#define HDR_SETUP_SECTS 0x1f1
#define HDR_SYSSIZE 0x1f4
#define HDR_BOOT_FLAG 0x1fe
#define HDR_JUMP 0x200
#define HDR_MAGIC 0x202
#define HDR_VERSION 0x206
#define HDR_TYPE_OF_LOADER 0x210
#define HDR_LOADFLAGS 0x211
#define HDR_CODE32_START 0x214
#define HDR_RAMDISK_IMAGE 0x218
#define HDR_RAMDISK_SIZE 0x21c
#define HDR_CMD_LINE_PTR 0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGNMENT 0x230
#define HDR_RELOCATABLE 0x234
#define HDR_XLOADFLAGS 0x236
#define HDR_CMDLINE_SIZE 0x238
#define HDR_PREF_ADDRESS 0x258
#define HDR_INIT_SIZE 0x260
/* The header's end: byte 0x201 holds its length past 0x202 (2.04+: the jump's offset). */

#define LOADFLAG_LOADED_HIGH 0x01
#define XLF_KERNEL_64 0x01

#define LB_GDT 0x500ull
#define LB_PML4 0x1000ull
#define LB_PDPT 0x2000ull
#define LB_PD 0x3000ull
#define LB_ZERO_PAGE 0x7000ull
#define LB_CMDLINE 0x20000ull
#define LB_CMDLINE_MAX 0x10000u
#define LB_KERNEL_ADDR 0x100000ull
/* QEMU's value for a loader it does not name in the boot protocol's list. */
#define LB_LOADER_TYPE 0xb0

bool linux_probe(const uint8_t *buf, size_t len)
{
    return len > HDR_MAGIC + 4 && !memcmp(buf + HDR_MAGIC, "HdrS", 4);
}

static int lb_fail(const char *path, GError **errp, int err, const char *fmt, ...)
    G_GNUC_PRINTF(4, 5);

static int lb_fail(const char *path, GError **errp, int err, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "-kernel %s: %s", path, msg);
    return err;
}

/* The top of RAM below 4 GiB: where the initrd may end at most. */
static uint64_t low_ram_top(void)
{
    for (unsigned i = 0; i < ram_region_count(); i++) {
        const struct ram_region *r = ram_region_get(i);

        if (r->gpa == 0) {
            return r->size;
        }
    }
    return 0;
}

/* Identity map of the first 4 GiB with 2 MiB pages (SDM vol. 3, 4.5). */
static int lb_write_page_tables(void)
{
    uint64_t pml4e = LB_PDPT | 0x3;     /* present, writable */
    uint64_t pdpte[4];
    g_autofree uint64_t *pd = g_new(uint64_t, 4 * 512);

    for (unsigned i = 0; i < 4; i++) {
        pdpte[i] = (LB_PD + i * 0x1000) | 0x3;
    }
    for (unsigned i = 0; i < 4 * 512; i++) {
        pd[i] = ((uint64_t)i << 21) | 0x83;  /* present, writable, 2 MiB page */
    }
    if (ram_write(LB_PML4, &pml4e, sizeof(pml4e)) < 0 ||
        ram_write(LB_PDPT, pdpte, sizeof(pdpte)) < 0 ||
        ram_write(LB_PD, pd, 4 * 512 * sizeof(uint64_t)) < 0) {
        return -EFAULT;
    }
    return 0;
}

/* Null, null, a 64-bit code segment and a flat data segment. */
static int lb_write_gdt(void)
{
    static const uint64_t gdt[4] = {
        0, 0,
        0x00af9b000000ffffull,      /* 0x10: code, L=1, present, DPL 0 */
        0x00cf93000000ffffull,      /* 0x18: data, 4 GiB flat, writable */
    };

    return ram_write(LB_GDT, gdt, sizeof(gdt));
}

/* Where the kernel runs, loaded at LB_KERNEL_ADDR (boot.rst, "pref_address"). */
static uint64_t lb_runtime_start(const uint8_t *hdr, uint16_t version)
{
    uint64_t pref = version >= 0x20a ? ld32(hdr + HDR_PREF_ADDRESS) |
                                       (uint64_t)ld32(hdr + HDR_PREF_ADDRESS + 4) << 32
                                     : LB_KERNEL_ADDR;
    uint64_t align = ld32(hdr + HDR_KERNEL_ALIGNMENT);

    if (!hdr[HDR_RELOCATABLE]) {
        return pref;
    }
    pref = MAX(pref, LB_KERNEL_ADDR);
    if (align && !(align & (align - 1))) {
        pref = (pref + align - 1) & ~(align - 1);
    }
    return pref;
}

/*
 * Puts the initrd as high as the kernel allows, page-aligned: its pages are
 * then the file's pages, mapped copy-on-write (boot-file.h).
 */
static int lb_load_initrd(struct machine *m, const char *kpath, const uint8_t *hdr,
                          uint16_t version, uint64_t kernel_end, uint8_t *zp, GError **errp)
{
    const char *path = m->cfg->initrd;
    g_autoptr(GError) err = NULL;
    struct boot_file f;
    uint64_t max, addr;
    int ret;

    ret = boot_file_open(&f, path, &err);
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "could not load initial ram disk '%s': %s", path, err->message);
        return ret;
    }
    /* Boot protocol before 2.03 has no initrd_addr_max: 0x37ffffff then. */
    max = version >= 0x203 ? ld32(hdr + HDR_INITRD_ADDR_MAX) : 0x37ffffff;
    max = MIN(max + 1, low_ram_top());
    addr = f.len < max ? (max - f.len) & ~0xfffull : 0;
    if (addr < kernel_end) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "-kernel %s: the initrd '%s' (%zu bytes) does not fit below 0x%" PRIx64
                    " after the kernel: give the guest more memory (-m)", kpath, path,
                    f.len, max);
        boot_file_close(&f);
        return -ENOSPC;
    }
    ret = boot_file_to_ram(&f, 0, f.len, addr);
    if (ret < 0) {
        boot_file_close(&f);
        return lb_fail(kpath, errp, -EFAULT, "initrd at 0x%" PRIx64 " is outside RAM", addr);
    }
    st32(zp + HDR_RAMDISK_IMAGE, addr);
    st32(zp + HDR_RAMDISK_SIZE, f.len);
    zp[BP_EXT_RAMDISK_IMAGE] = 0;
    boot_file_close(&f);
    return 0;
}

int linux_load(struct machine *m, const char *path, const uint8_t *buf, size_t len,
               uint64_t rsdp, GError **errp)
{
    const struct hyvm_config *cfg = m->cfg;
    /* -append, and on microvm its virtio-mmio transports (QEMU's fw_cfg edit). */
    g_autofree char *append = microvm_kernel_cmdline(m, cfg && cfg->append ? cfg->append : "");
    struct e820_entry map[X86_E820_MAX];
    g_autofree uint8_t *zp = g_malloc0(4096);
    uint16_t version;
    unsigned setup_sects, n, hdr_end;
    uint32_t cmdline_max, init_size;
    uint64_t runtime_start;
    size_t kernel_off, kernel_len;
    int ret;

    if (!linux_probe(buf, len)) {
        return lb_fail(path, errp, -EINVAL, "not a Linux kernel (no setup header)");
    }
    if (len < 0x264) {
        return lb_fail(path, errp, -EINVAL, "truncated: the file (%zu bytes) ends in the "
                       "setup header", len);
    }
    version = ld16(buf + HDR_VERSION);
    if (ld16(buf + HDR_BOOT_FLAG) != 0xaa55) {
        return lb_fail(path, errp, -EINVAL, "invalid Linux setup header (boot flag 0x%04x)",
                       ld16(buf + HDR_BOOT_FLAG));
    }
    /* 2.12 brought xloadflags, which say whether the 64-bit entry exists. */
    if (version < 0x20c || !(ld16(buf + HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
        return lb_fail(path, errp, -ENOTSUP, "the kernel has no 64-bit entry point (boot "
                       "protocol %u.%02u); hyvm boots 64-bit x86 kernels", version >> 8,
                       version & 0xff);
    }
    if (!(buf[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH)) {
        return lb_fail(path, errp, -ENOTSUP, "a zImage (loaded low) is not supported; use "
                       "a bzImage");
    }
    setup_sects = buf[HDR_SETUP_SECTS] ? buf[HDR_SETUP_SECTS] : 4;
    kernel_off = (size_t)(setup_sects + 1) * 512;
    if (kernel_off >= len) {
        return lb_fail(path, errp, -EINVAL, "truncated: the file ends in the setup code "
                       "(%zu bytes, %u setup sectors)", len, setup_sects);
    }
    kernel_len = len - kernel_off;
    if ((uint64_t)ld32(buf + HDR_SYSSIZE) * 16 > kernel_len) {
        return lb_fail(path, errp, -EINVAL, "truncated: the header says 0x%" PRIx64 " bytes "
                       "of protected-mode kernel, the file has 0x%zx",
                       (uint64_t)ld32(buf + HDR_SYSSIZE) * 16, kernel_len);
    }
    /* boot.rst, "init_size": the kernel needs init_size bytes from its
     * runtime start, where a relocatable kernel moves itself (its preferred
     * address, aligned) and a fixed one runs (the preferred address). */
    init_size = ld32(buf + HDR_INIT_SIZE);
    runtime_start = lb_runtime_start(buf, version);
    if (LB_KERNEL_ADDR + kernel_len > low_ram_top() ||
        runtime_start + init_size > low_ram_top()) {
        return lb_fail(path, errp, -ENOSPC, "the kernel needs RAM up to 0x%" PRIx64 "; give "
                       "the guest more memory (-m)",
                       (uint64_t)MAX(LB_KERNEL_ADDR + kernel_len, runtime_start + init_size));
    }

    /* The zero page starts as zeroes with the image's setup header copied in
     * (boot.rst: the header ends at 0x202 + the byte at 0x201). */
    hdr_end = MIN(0x202u + buf[HDR_JUMP + 1], 4096u);
    hdr_end = MIN((size_t)hdr_end, len);
    memcpy(zp + BP_HDR, buf + BP_HDR, hdr_end - BP_HDR);
    zp[HDR_TYPE_OF_LOADER] = LB_LOADER_TYPE;
    zp[HDR_LOADFLAGS] |= LOADFLAG_LOADED_HIGH;
    st32(zp + HDR_CODE32_START, LB_KERNEL_ADDR);

    cmdline_max = version >= 0x206 ? ld32(buf + HDR_CMDLINE_SIZE) : 255;
    cmdline_max = MIN(cmdline_max, LB_CMDLINE_MAX - 1);
    if (strlen(append) > cmdline_max) {
        return lb_fail(path, errp, -E2BIG, "the command line (%zu bytes) is longer than "
                       "the kernel takes (%u)", strlen(append), cmdline_max);
    }
    if (ram_write(LB_CMDLINE, append, strlen(append) + 1) < 0) {
        return lb_fail(path, errp, -EFAULT, "no RAM for the command line");
    }
    st32(zp + HDR_CMD_LINE_PTR, LB_CMDLINE);

    if (cfg && cfg->initrd) {
        ret = lb_load_initrd(m, path, buf, version,
                             MAX(LB_KERNEL_ADDR + kernel_len, runtime_start + init_size), zp,
                             errp);
        if (ret < 0) {
            return ret;
        }
    }

    n = x86_e820_build(m, map, X86_E820_MAX);
    for (unsigned i = 0; i < n && i < BP_E820_MAX; i++) {
        uint8_t *e = zp + BP_E820_TABLE + i * 20;

        st64(e, map[i].addr);
        st64(e + 8, map[i].size);
        st32(e + 16, map[i].type);
    }
    zp[BP_E820_ENTRIES] = n;
    if (rsdp) {
        st64(zp + BP_ACPI_RSDP_ADDR, rsdp);
    }

    if (ram_write(LB_KERNEL_ADDR, buf + kernel_off, kernel_len) < 0 ||
        ram_write(LB_ZERO_PAGE, zp, 4096) < 0 || lb_write_gdt() < 0 ||
        lb_write_page_tables() < 0) {
        return lb_fail(path, errp, -EFAULT, "the kernel does not fit in RAM");
    }

    /* boot.rst, 64-bit boot protocol: long mode with the loaded range
     * identity-mapped, __BOOT_CS/__BOOT_DS, interrupts off, %rsi the zero
     * page; startup_64 is 0x200 past the protected-mode kernel's start. */
    x86_cpu_state_flat64(&m->boot_state, LB_KERNEL_ADDR + 0x200, LB_PML4, LB_GDT,
                         4 * 8 - 1);
    m->boot_state.regs[R_ESI] = LB_ZERO_PAGE;
    m->boot_state.rflags = RFLAGS_FIXED;
    m->has_boot_state = true;
    return 0;
}
