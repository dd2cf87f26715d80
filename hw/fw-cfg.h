/*
 * fw_cfg: the firmware configuration device of QEMU's PC, the selector and
 * data ports firmware and test programs read the machine's facts through
 * (QEMU's docs/specs/fw_cfg.rst).  kvm-unit-tests reads the vCPU count from
 * it; SeaBIOS reads files from its directory.
 *
 * Items are byte strings under a 16-bit key: the generic keys below, the
 * architecture's own ones (FW_CFG_ARCH_LOCAL set), and named files that get
 * keys from FW_CFG_FILE_FIRST up and are listed under FW_CFG_FILE_DIR.
 * Both interfaces are offered: the traditional byte port and DMA (FW_CFG_ID
 * bits 0 and 1), the latter through a big-endian 64-bit address register
 * at base + 4 that points at a control structure in guest RAM.
 */
#ifndef HYVM_FW_CFG_H
#define HYVM_FW_CFG_H

#include <stdint.h>
#include <glib.h>

#define FW_CFG_IO_BASE 0x510       /* selector (16-bit); data at +1 */
#define FW_CFG_DMA_OFFSET 4        /* the DMA address register, 8 bytes */

/* FW_CFG_ID feature bits. */
#define FW_CFG_VERSION_TRADITIONAL 0x01
#define FW_CFG_VERSION_DMA 0x02

/*
 * The DMA control structure (fw_cfg.rst, "FW_CFG_DMA_ADDRESS"), all
 * big-endian: be32 control, be32 length, be64 address.  control's high
 * 16 bits are the key to select when FW_CFG_DMA_CTL_SELECT is set; the
 * device clears control when done, or leaves FW_CFG_DMA_CTL_ERROR in it.
 */
#define FW_CFG_DMA_CTL_ERROR 0x01
#define FW_CFG_DMA_CTL_READ 0x02
#define FW_CFG_DMA_CTL_SKIP 0x04
#define FW_CFG_DMA_CTL_SELECT 0x08
#define FW_CFG_DMA_CTL_WRITE 0x10
/* What reading the address register gives, byte by byte: "QEMU CFG". */
#define FW_CFG_DMA_SIGNATURE "QEMU CFG"

enum {
    FW_CFG_SIGNATURE = 0x00,       /* "QEMU" */
    FW_CFG_ID = 0x01,              /* u32 feature bits: 1 traditional, 2 DMA */
    FW_CFG_UUID = 0x02,            /* 16 bytes */
    FW_CFG_RAM_SIZE = 0x03,        /* u64 */
    FW_CFG_NOGRAPHIC = 0x04,       /* u16 */
    FW_CFG_NB_CPUS = 0x05,         /* u16: vCPUs present at boot */
    FW_CFG_MACHINE_ID = 0x06,
    FW_CFG_KERNEL_ADDR = 0x07,
    FW_CFG_KERNEL_SIZE = 0x08,
    FW_CFG_KERNEL_CMDLINE = 0x09,
    FW_CFG_INITRD_ADDR = 0x0a,
    FW_CFG_INITRD_SIZE = 0x0b,
    FW_CFG_BOOT_DEVICE = 0x0c,
    FW_CFG_NUMA = 0x0d,
    FW_CFG_BOOT_MENU = 0x0e,       /* u16 */
    FW_CFG_MAX_CPUS = 0x0f,        /* u16: highest APIC ID + 1 */
    FW_CFG_FILE_DIR = 0x19,        /* big-endian count, then the entries */
    FW_CFG_FILE_FIRST = 0x20,
};

/* Key bits: writes through the data port (refused here), the arch's keys. */
#define FW_CFG_WRITE_CHANNEL 0x4000
#define FW_CFG_ARCH_LOCAL 0x8000
/* x86's own keys (QEMU's hw/i386/fw_cfg.h). */
#define FW_CFG_IRQ0_OVERRIDE (FW_CFG_ARCH_LOCAL + 2)   /* u32 */

/* Keys per namespace: the generic ones, then this many files. */
#define FW_CFG_FILE_SLOTS 0x20
#define FW_CFG_MAX_ENTRY (FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS)
#define FW_CFG_MAX_FILE_PATH 56

struct fw_cfg;

/* The device on ports base (selector), base + 1 (data) and base + 4 to
 * base + 11 (DMA address), with the signature, the ID and an empty file
 * directory already in place. */
struct fw_cfg *fw_cfg_create_io(uint16_t base, GError **errp);
/* Sets or replaces an item; data is copied.  Keys out of range are a bug
 * of the caller and are ignored with a warning. */
void fw_cfg_add_bytes(struct fw_cfg *s, uint16_t key, const void *data, uint32_t len);
/* Little-endian integers, as the generic keys hold them. */
void fw_cfg_add_u16(struct fw_cfg *s, uint16_t key, uint16_t v);
void fw_cfg_add_u32(struct fw_cfg *s, uint16_t key, uint32_t v);
void fw_cfg_add_u64(struct fw_cfg *s, uint16_t key, uint64_t v);
/* A named file: the next free key, listed in the directory in name order
 * (as QEMU's). -EEXIST for a name already there, -ENOSPC when full,
 * -ENAMETOOLONG past FW_CFG_MAX_FILE_PATH - 1 characters. */
int fw_cfg_add_file(struct fw_cfg *s, const char *name, const void *data, uint32_t len,
                    GError **errp);
/* System reset: key 0 selected, as after power-on. */
void fw_cfg_reset(struct fw_cfg *s);
/* Removes the ports and frees everything (tests; the machine keeps its
 * fw_cfg for the life of the process). */
void fw_cfg_destroy(struct fw_cfg *s);

#endif
