/*
 * PCI bus 0 of -M pc: the i440FX host bridge (00.0) and the PIIX3 ISA
 * bridge (01.0) behind configuration mechanism #1 (ports 0xcf8/0xcfc,
 * PCI Local Bus Specification 3.0, section 3.2.2.3.2), BARs that map a
 * device's port or MMIO handlers where the guest programs them, INTx
 * routed through the PIIX3's PIRQ registers to ISA interrupts, and the
 * capability list (PCI 3.0, section 6.7) with MSI-X in hw/msix.h.
 *
 * hyvm starts a -kernel guest without firmware, so pci_firmware_setup()
 * leaves the bus as SeaBIOS leaves it under QEMU: BARs assigned, decoding
 * on, PIRQs routed to IRQ 10/11 and interrupt lines filled in.  Guests that
 * find their devices by config-space discovery (kvm-unit-tests) then see
 * the addresses they see under QEMU.  Without -kernel (machine->firmware)
 * SeaBIOS itself does all that, and pci_firmware_setup() only records the
 * power-on state resets return to.
 *
 * Threads: created on the main thread while the machine is built; config
 * cycles and BAR accesses run on vCPU threads with the big lock held.
 */
#ifndef HYVM_PCI_H
#define HYVM_PCI_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

/* The smallest power of two >= v (1 for 0): BAR sizes are powers of two. */
static inline uint64_t pow2_ceil(uint64_t v)
{
    uint64_t p = 1;

    while (p < v) {
        p <<= 1;
    }
    return p;
}

struct machine;
struct dev_config;
struct fw_cfg;
struct io_ops;
struct msix;

#define PCI_CONFIG_SPACE_SIZE   256
#define PCI_NUM_BARS            6
#define PCI_DEVFN(slot, fn)     ((((slot) & 0x1f) << 3) | ((fn) & 7))
#define PCI_SLOT(devfn)         (((devfn) >> 3) & 0x1f)
#define PCI_FUNC(devfn)         ((devfn) & 7)

/* Type 0 configuration header (PCI 3.0, section 6.1). */
#define PCI_VENDOR_ID           0x00
#define PCI_DEVICE_ID           0x02
#define PCI_COMMAND             0x04
#define PCI_STATUS              0x06
#define PCI_REVISION_ID         0x08
#define PCI_CLASS_PROG          0x09
#define PCI_CLASS_DEVICE        0x0a
#define PCI_CACHE_LINE_SIZE     0x0c
#define PCI_HEADER_TYPE         0x0e
#define PCI_BASE_ADDRESS_0      0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID        0x2e
#define PCI_ROM_ADDRESS         0x30
#define PCI_CAPABILITY_LIST     0x34
#define PCI_INTERRUPT_LINE      0x3c
#define PCI_INTERRUPT_PIN       0x3d

#define PCI_COMMAND_IO          0x0001
#define PCI_COMMAND_MEMORY      0x0002
#define PCI_COMMAND_MASTER      0x0004
#define PCI_COMMAND_SERR        0x0100
#define PCI_COMMAND_INTX_DISABLE 0x0400
#define PCI_STATUS_INTERRUPT    0x0008
#define PCI_STATUS_CAP_LIST     0x0010
#define PCI_STATUS_DEVSEL_MEDIUM 0x0200
#define PCI_HEADER_TYPE_MULTI_FUNCTION 0x80

/* BAR type bits (PCI 3.0, section 6.2.5.1). */
#define PCI_BAR_SPACE_IO        0x01
#define PCI_BAR_MEM_TYPE_64     0x04
#define PCI_BAR_MEM_PREFETCH    0x08

#define PCI_BAR_UNMAPPED        UINT64_MAX

/* Expansion ROM base address register (PCI 3.0, section 6.2.5.2). */
#define PCI_ROM_ADDRESS_ENABLE  0x01
#define PCI_ROM_ADDRESS_MASK    0xfffff800u
#define PCI_ROM_MIN_SIZE        0x800

/* Capability IDs (PCI 3.0, appendix H) and where the list may live. */
#define PCI_CAP_ID_VNDR         0x09
#define PCI_CAP_ID_MSIX         0x11
#define PCI_CAP_FIRST           0x40

/* Red Hat's IDs for QEMU's devices and QEMU's default subsystem IDs. */
#define PCI_VENDOR_ID_REDHAT    0x1b36
#define PCI_VENDOR_ID_INTEL     0x8086
#define PCI_SUBVENDOR_ID_REDHAT_QUMRANET 0x1af4
#define PCI_SUBDEVICE_ID_QEMU   0x1100

struct pci_bar {
    uint64_t size;            /* a power of two; 0: not implemented */
    uint8_t type;             /* PCI_BAR_* bits as the BAR's low bits read */
    const char *name;
    const struct io_ops *ops; /* NULL: decodes, but nothing answers */
    void *opaque;
    uint64_t mapped;          /* where it is registered, or PCI_BAR_UNMAPPED */
};

struct pci_device {
    uint8_t devfn;
    const char *type_name;    /* "pci-testdev", as error messages name it */
    char *id;                 /* -device id=, or NULL */
    uint8_t config[PCI_CONFIG_SPACE_SIZE];
    uint8_t wmask[PCI_CONFIG_SPACE_SIZE];    /* bits a config write changes */
    uint8_t w1cmask[PCI_CONFIG_SPACE_SIZE];  /* bits a written 1 clears */
    struct pci_bar bar[PCI_NUM_BARS];
    /* The expansion ROM (config offset 0x30): rom.size 0 when there is none;
     * rom_data holds rom.size bytes (g_malloc'd, freed with the bus). */
    struct pci_bar rom;
    uint8_t *rom_data;
    bool multifunction;
    bool intx;                /* the device's INTx request (status bit 3) */
    int intx_pirq;            /* the PIRQ its request counts on, or -1 */
    /* Called after the generic part of every config write (may be NULL). */
    void (*config_written)(struct pci_device *d, unsigned addr, unsigned len);
    /* Called before a config read (may be NULL): the device refreshes the
     * bytes it computes (virtio's PCI configuration access capability). */
    void (*config_read)(struct pci_device *d, unsigned addr, unsigned len);
    /* Device state back to power-on, on system reset (may be NULL). */
    void (*reset)(struct pci_device *d);
    /* pci_bus_destroy() is about to free opaque: release what it holds
     * besides memory (file descriptors, main-loop sources); may be NULL. */
    void (*destroy)(struct pci_device *d);
    void *opaque;             /* the device's g_malloc'd state, freed with the bus */
    struct msix *msix;        /* hw/msix.c's state (one g_malloc'd block), or NULL */
    unsigned cap_end;         /* first config byte no capability holds yet */
    uint8_t power_on_config[PCI_CONFIG_SPACE_SIZE];  /* before the firmware ran */
};

/*
 * -M pc: bus 0 with the host and ISA bridges and the ports 0xcf8-0xcff.
 * Call before the -device list is realized.
 */
int pci_host_create_pc(struct machine *m, GError **errp);
/* Whether the machine has a PCI bus (-M microvm does not). */
bool pci_bus_present(void);
/* Forgets the bus and every function on it (tests; after io_unregister_all). */
void pci_bus_destroy(void);

/*
 * What SeaBIOS does before the guest runs: BARs of every function from the
 * top of the 32-bit PCI window down (memory, below 0xfec00000) and from
 * 0xc000 up (I/O), largest first; I/O, memory and SERR enabled; PIRQA-D
 * routed to IRQ 10, 10, 11, 11, level-triggered in the ELCR; interrupt
 * lines set.  Call once, after the -device list is realized.  With real
 * firmware it only records the power-on state (SeaBIOS does the rest).
 */
void pci_firmware_setup(void);
/*
 * The ELCR bits (bit n: IRQ n level-triggered) pci_firmware_setup() sets
 * through ports 0x4d0-0x4d1; 0 without a bus or with real firmware.  Under KVM the in-kernel PIC
 * owns those ports, so the accelerator applies them (KVM_SET_IRQCHIP).
 */
uint16_t pci_firmware_elcr(void);
/*
 * System reset: every function's config space back to what it held when
 * pci_firmware_setup() first ran (the machine as built), BARs unmapped,
 * device reset hooks run, 0xcf8 cleared, then pci_firmware_setup() again,
 * as SeaBIOS runs again after a reset.
 */
void pci_bus_reset(void);

/*
 * Adds a function at devfn (-1: function 0 of the first free slot) with
 * QEMU's checks and messages.  The caller then fills IDs and BARs.
 */
struct pci_device *pci_device_add(const char *type_name, const char *id, int devfn,
                                  bool multifunction, GError **errp);
/* The addr= property: "SLOT[.FN]" in hex, as QEMU parses it; -1 if absent. */
int pci_parse_addr(const struct dev_config *cfg, int *devfn, GError **errp);
/* pci_device_add() for a -device: at its addr=, with its id and multifunction. */
struct pci_device *pci_device_add_cfg(const struct dev_config *cfg, GError **errp);
/* IDs, revision and the 24-bit class code (class << 16 | subclass << 8 | prog-if). */
void pci_set_ids(struct pci_device *d, uint16_t vendor, uint16_t device, uint8_t revision,
                 uint32_t class_code);
/*
 * Declares BAR idx: size a power of two (4-256 for I/O, as PCI 3.0
 * section 6.2.5.1 allows; 16 up to 2 GiB for 32-bit memory), type its
 * PCI_BAR_* bits.  A 64-bit BAR also takes idx + 1.
 */
int pci_register_bar(struct pci_device *d, unsigned idx, uint8_t type, uint64_t size,
                     const char *name, const struct io_ops *ops, void *opaque,
                     GError **errp);
/*
 * QEMU's pci_add_option_rom for a -device: the romfile= property (default
 * default_romfile; "" or NULL: no ROM) and romsize= (the BAR size; QEMU's
 * error when the file is larger).  With rombar=0 there is no BAR and, as
 * QEMU does, the image goes to the firmware as the fw_cfg file
 * "vgaroms/NAME" (a VGA, class 0x0300) or "genroms/NAME" when fw (the
 * machine's fw_cfg) is given.  A file that cannot be found or read fails
 * with QEMU's words, plus hint (when set) for the default file.
 */
int pci_add_option_rom(struct pci_device *d, const struct dev_config *cfg,
                       const char *default_romfile, const GPtrArray *datadirs,
                       struct fw_cfg *fw, const char *hint, GError **errp);

/*
 * Adds a capability of size bytes with cap_id at the head of the list
 * (status bit 4, the pointer at 0x34), as QEMU's pci_add_capability: the
 * first free bytes from 0x40, dword aligned, read-only until the caller
 * sets write masks.  Returns its offset, or -ENOSPC.
 */
int pci_add_capability(struct pci_device *d, uint8_t cap_id, unsigned size, GError **errp);
/* The function's INTx pin request (pin from PCI_INTERRUPT_PIN, 1 = INTA). */
void pci_set_irq(struct pci_device *d, int level);
/* The function at devfn on bus 0, or NULL. */
struct pci_device *pci_find_device(unsigned devfn);

/* Config space as a guest's cycle sees it (tests, monitors). */
uint32_t pci_config_read(struct pci_device *d, unsigned addr, unsigned len);
void pci_config_write(struct pci_device *d, unsigned addr, uint32_t val, unsigned len);

/* pci-testdev (hw/pci-testdev.c): QEMU's PCI test device, 1b36:0005. */
int pci_testdev_realize(struct machine *m, const struct dev_config *cfg, GError **errp);

#endif
