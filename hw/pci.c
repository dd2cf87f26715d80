/*
 * PCI bus 0 of -M pc (see hw/pci.h): configuration mechanism #1, config
 * space with write masks, BAR sizing and mapping, the i440FX host bridge,
 * the PIIX3 ISA bridge with its PIRQ routing and reset control register,
 * and the firmware's start-up assignment.
 *
 * The behaviour follows what a guest observes under QEMU 7.2's -M pc
 * (hw/pci/pci.c, hw/pci/pci_host.c, hw/pci-host/i440fx.c, hw/isa/piix3.c).
 * When SeaBIOS runs (no -kernel) the registers start as after power-on
 * and the firmware programs them; a -kernel guest starts without firmware,
 * so the bus starts as SeaBIOS 1.16 leaves it (pci_firmware_setup).  The
 * host bridge's PAM and SMRAM registers drive hw/i440fx-pam.c.
 *
 * Threads: pci_host_create_pc(), pci_device_add() and pci_firmware_setup()
 * run on the main thread while the machine is built; the port handlers run
 * on vCPU threads with the big lock held, which also covers the BAR
 * (un)registration they cause.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/device.h"
#include "hw/fw-cfg.h"
#include "hw/i440fx-pam.h"
#include "hw/irq.h"
#include "hw/msix.h"
#include "hw/pci.h"
#include "system/datadir.h"
#include "machine/machine.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/runstate.h"

#define PCI_CONFIG_ADDRESS_PORT 0xcf8
#define PCI_CONFIG_DATA_PORT    0xcfc
#define PCI_CONFIG_ENABLE       0x80000000u
#define PCI_CONFIG_HEADER_SIZE  0x40

/* Status bits a written 1 clears (PCI 3.0, section 6.2.3). */
#define PCI_STATUS_W1C          0xf900

/* PIIX3 (Intel 82371SB datasheet, section 2.2). */
#define PIIX3_PIRQRC            0x60    /* PIRQA-D route control, 4 bytes */
#define PIIX3_PIRQ_DISABLE      0x80
#define PIIX_NUM_PIRQS          4
#define ISA_NUM_IRQS            16
#define PIIX3_RCR_OFFSET        1       /* 0xcf9: reset control register */
#define PIIX3_RCR_SYS_RST       0x02
#define PIIX3_RCR_RESET_CPU     0x04
#define ELCR_PORT               0x4d0
/* PIIX4 function 3, power management (82371AB datasheet, 3.1; hw/acpi-pm.c). */
#define PIIX4_PM_DEVICE_ID      0x7113
#define PIIX4_PM_SCI_IRQ        9

/* The 32-bit PCI memory window ends where the IOAPIC starts, as on QEMU's pc. */
#define PCI_MEM_WINDOW_END      0xfec00000ull
#define PCI_IO_WINDOW_LOW       0x1000
#define PCI_IO_WINDOW_HIGH      0xc000
#define PCI_IO_LOW_END          0xa000

struct pci_bus {
    struct pci_device *dev[256];
    uint32_t config_addr;           /* the 0xcf8 register, all 32 bits kept */
    uint8_t rcr;                    /* PIIX3 reset control, its SYS_RST bit */
    struct pci_device *piix3;
    unsigned pirq_count[PIIX_NUM_PIRQS];  /* functions asserting each PIRQ */
    uint16_t isa_level;             /* ISA lines the PIRQs hold high */
    bool power_on_saved;            /* power_on_config holds the build state */
    bool firmware;                  /* SeaBIOS runs: it assigns, hyvm does not */
};

static struct pci_bus *bus;

/* ---- config space ---- */

static uint16_t cfg_word(const struct pci_device *d, unsigned addr)
{
    return d->config[addr] | d->config[addr + 1] << 8;
}

static uint32_t cfg_long(const struct pci_device *d, unsigned addr)
{
    return cfg_word(d, addr) | (uint32_t)cfg_word(d, addr + 2) << 16;
}

static void set_word(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static void set_long(uint8_t *p, uint32_t v)
{
    set_word(p, v);
    set_word(p + 2, v >> 16);
}

static bool ranges_overlap(unsigned a, unsigned alen, unsigned b, unsigned blen)
{
    return a < b + blen && b < a + alen;
}

/* ---- INTx and the PIIX3 PIRQ routing ---- */

/* Which PIRQ a slot's pin drives: the i440FX board's swizzle (QEMU's
 * pci_slot_get_pirq), pin 1-4 for INTA-INTD. */
static unsigned pci_pirq_of(const struct pci_device *d, unsigned pin)
{
    return (PCI_SLOT(d->devfn) + pin - 1 - 1) & 3;
}

/*
 * Drives every ISA line from the PIRQs routed to it: a line is high while
 * any PIRQ routed there is asserted.  A route byte of 16 or more (bit 7 is
 * the disable bit) connects nowhere, as on QEMU's PIIX3.
 */
static void piix3_update_isa_irqs(void)
{
    uint16_t level = 0;

    if (!bus->piix3) {
        return;
    }
    for (unsigned p = 0; p < PIIX_NUM_PIRQS; p++) {
        uint8_t route = bus->piix3->config[PIIX3_PIRQRC + p];

        if (route < ISA_NUM_IRQS && bus->pirq_count[p]) {
            level |= 1u << route;
        }
    }
    for (unsigned irq = 0; irq < ISA_NUM_IRQS; irq++) {
        uint16_t bit = 1u << irq;

        if ((level ^ bus->isa_level) & bit) {
            irq_set_level(irq, !!(level & bit));
        }
    }
    bus->isa_level = level;
}

/* Adds or removes the function's request from its PIRQ when the request or
 * the command register's INTx disable bit changes. */
static void pci_update_intx(struct pci_device *d)
{
    unsigned pin = d->config[PCI_INTERRUPT_PIN];
    bool on = d->intx && !(cfg_word(d, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE) &&
              pin >= 1 && pin <= 4;
    int pirq = on ? (int)pci_pirq_of(d, pin) : -1;

    if (d->intx) {
        d->config[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    } else {
        d->config[PCI_STATUS] &= ~PCI_STATUS_INTERRUPT;
    }
    if (pirq == d->intx_pirq || !bus) {
        return;
    }
    if (d->intx_pirq >= 0) {
        bus->pirq_count[d->intx_pirq]--;
    }
    if (pirq >= 0) {
        bus->pirq_count[pirq]++;
    }
    d->intx_pirq = pirq;
    piix3_update_isa_irqs();
}

void pci_set_irq(struct pci_device *d, int level)
{
    d->intx = level != 0;
    pci_update_intx(d);
}

/* ---- BAR mapping ---- */

static unsigned bar_offset(unsigned idx)
{
    return PCI_BASE_ADDRESS_0 + 4 * idx;
}

/*
 * Where BAR idx decodes now, by QEMU's rules (pci_bar_address): only with
 * its decode bit on in the command register, never at 0, never wrapping or
 * reaching the last byte of the 32-bit space (what sizing writes leave), and
 * an I/O BAR only inside the 64 KiB port space.
 */
static uint64_t pci_bar_address(const struct pci_device *d, unsigned idx)
{
    const struct pci_bar *b = &d->bar[idx];
    uint16_t cmd = cfg_word(d, PCI_COMMAND);
    uint64_t addr, last;

    if (b->type & PCI_BAR_SPACE_IO) {
        if (!(cmd & PCI_COMMAND_IO)) {
            return PCI_BAR_UNMAPPED;
        }
        addr = cfg_long(d, bar_offset(idx)) & ~(b->size - 1);
        last = addr + b->size - 1;
        if (!addr || last <= addr || last >= UINT32_MAX || last > 0xffff) {
            return PCI_BAR_UNMAPPED;
        }
        return addr;
    }
    if (!(cmd & PCI_COMMAND_MEMORY)) {
        return PCI_BAR_UNMAPPED;
    }
    addr = cfg_long(d, bar_offset(idx));
    if (b->type & PCI_BAR_MEM_TYPE_64) {
        addr |= (uint64_t)cfg_long(d, bar_offset(idx + 1)) << 32;
    }
    addr &= ~(b->size - 1);
    last = addr + b->size - 1;
    if (!addr || last <= addr || last == PCI_BAR_UNMAPPED) {
        return PCI_BAR_UNMAPPED;
    }
    if (!(b->type & PCI_BAR_MEM_TYPE_64) && last >= UINT32_MAX) {
        return PCI_BAR_UNMAPPED;
    }
    return addr;
}

/*
 * Where the expansion ROM decodes now (PCI 3.0, section 6.2.5.2): memory
 * decoding on and the ROM's own enable bit set, with the memory BAR rules
 * above for the address.
 */
static uint64_t pci_rom_address(const struct pci_device *d)
{
    uint32_t reg = cfg_long(d, PCI_ROM_ADDRESS);
    uint64_t addr = reg & ~(d->rom.size - 1) & PCI_ROM_ADDRESS_MASK;
    uint64_t last = addr + d->rom.size - 1;

    if (!(cfg_word(d, PCI_COMMAND) & PCI_COMMAND_MEMORY) ||
        !(reg & PCI_ROM_ADDRESS_ENABLE)) {
        return PCI_BAR_UNMAPPED;
    }
    if (!addr || last >= UINT32_MAX) {
        return PCI_BAR_UNMAPPED;
    }
    return addr;
}

static void pci_bar_unmap(struct pci_bar *b)
{
    if (b->mapped == PCI_BAR_UNMAPPED) {
        return;
    }
    if (b->ops) {
        if (b->type & PCI_BAR_SPACE_IO) {
            io_unregister_pio(b->mapped, b->size);
        } else {
            io_unregister_mmio(b->mapped, b->size);
        }
    }
    b->mapped = PCI_BAR_UNMAPPED;
}

static void pci_bar_map(struct pci_device *d, struct pci_bar *b, uint64_t addr)
{
    g_autoptr(GError) err = NULL;
    int ret = 0;

    if (b->ops) {
        ret = (b->type & PCI_BAR_SPACE_IO)
              ? io_register_pio(addr, b->size, b->name, b->ops, b->opaque, &err)
              : io_register_mmio(addr, b->size, b->name, b->ops, b->opaque, &err);
    }
    if (ret < 0) {
        /* QEMU lets regions overlap by priority; hyvm leaves this BAR off. */
        log_mask(LOG_GUEST_ERROR, "pci %02x.%x: BAR at 0x%" G_GINT64_MODIFIER
                 "x not mapped: %s\n", PCI_SLOT(d->devfn), PCI_FUNC(d->devfn), addr,
                 err->message);
        return;
    }
    b->mapped = addr;
}

static void pci_bar_move(struct pci_device *d, struct pci_bar *b, uint64_t addr)
{
    if (addr == b->mapped) {
        return;
    }
    pci_bar_unmap(b);
    if (addr != PCI_BAR_UNMAPPED) {
        pci_bar_map(d, b, addr);
    }
}

static void pci_update_mappings(struct pci_device *d)
{
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        if (d->bar[i].size) {
            pci_bar_move(d, &d->bar[i], pci_bar_address(d, i));
        }
    }
    if (d->rom.size) {
        pci_bar_move(d, &d->rom, pci_rom_address(d));
    }
}

/* ---- config cycles ---- */

uint32_t pci_config_read(struct pci_device *d, unsigned addr, unsigned len)
{
    uint32_t v = 0;

    if (d->config_read && addr < PCI_CONFIG_SPACE_SIZE) {
        d->config_read(d, addr, MIN(len, PCI_CONFIG_SPACE_SIZE - addr));
    }
    for (unsigned i = 0; i < len && addr + i < PCI_CONFIG_SPACE_SIZE; i++) {
        v |= (uint32_t)d->config[addr + i] << (8 * i);
    }
    return v;
}

/* QEMU's pci_default_write_config: masks, write-1-to-clear, then the side
 * effects of the registers touched. */
void pci_config_write(struct pci_device *d, unsigned addr, uint32_t val, unsigned len)
{
    if (addr >= PCI_CONFIG_SPACE_SIZE) {
        return;
    }
    len = MIN(len, PCI_CONFIG_SPACE_SIZE - addr);
    for (unsigned i = 0; i < len; i++, val >>= 8) {
        uint8_t *c = &d->config[addr + i];

        *c = (*c & ~d->wmask[addr + i]) | (val & d->wmask[addr + i]);
        *c &= ~(val & d->w1cmask[addr + i]);
    }
    if (ranges_overlap(addr, len, PCI_BASE_ADDRESS_0, 4 * PCI_NUM_BARS) ||
        ranges_overlap(addr, len, PCI_ROM_ADDRESS, 4) ||
        ranges_overlap(addr, len, PCI_COMMAND, 1)) {
        pci_update_mappings(d);
    }
    if (ranges_overlap(addr, len, PCI_COMMAND, 2)) {
        pci_update_intx(d);
    }
    if (d->msix) {
        msix_config_written(d, addr, len);
    }
    if (d->config_written) {
        d->config_written(d, addr, len);
    }
}

/* The function the 0xcf8 register selects: bus 0 only. */
static struct pci_device *pci_selected(void)
{
    uint32_t a = bus->config_addr;

    if (!(a & PCI_CONFIG_ENABLE) || ((a >> 16) & 0xff)) {
        return NULL;
    }
    return bus->dev[(a >> 8) & 0xff];
}

/*
 * One naturally aligned piece of a data-port access.  The register offset
 * is the 0xcf8 value's low byte ORed with the port's low bits, as QEMU's
 * pci_data_read/write compute it, so a guest that leaves the register
 * offset's low bits in 0xcf8 (kvm-unit-tests reads bytes that way) reads
 * the byte it named.
 */
static uint32_t pci_data_piece_read(unsigned port_off, unsigned len)
{
    struct pci_device *d = pci_selected();
    unsigned addr = (bus->config_addr & 0xff) | port_off;

    if (!d) {
        return 0xffffffffu >> (32 - 8 * len);
    }
    return pci_config_read(d, addr, len);
}

static void pci_data_piece_write(unsigned port_off, uint32_t val, unsigned len)
{
    struct pci_device *d = pci_selected();

    if (d) {
        pci_config_write(d, (bus->config_addr & 0xff) | port_off, val, len);
    }
}

/* The largest naturally aligned access at off of at most len bytes. */
static unsigned piece_len(unsigned off, unsigned len)
{
    unsigned l = 4;

    while (l > len || (off & (l - 1))) {
        l >>= 1;
    }
    return l;
}

static uint64_t pci_data_read(void *opaque, uint64_t offset, unsigned size)
{
    uint64_t v = 0;

    for (unsigned done = 0; done < size;) {
        unsigned l = piece_len(offset + done, size - done);

        v |= (uint64_t)pci_data_piece_read(offset + done, l) << (8 * done);
        done += l;
    }
    return v;
}

static void pci_data_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    for (unsigned done = 0; done < size;) {
        unsigned l = piece_len(offset + done, size - done);

        pci_data_piece_write(offset + done, value >> (8 * done), l);
        done += l;
    }
}

/*
 * 0xcf8-0xcfb: the address register takes only 32-bit accesses at 0xcf8
 * (others read all ones and are dropped); 0xcf9 alone is the PIIX3's reset
 * control register, which QEMU lays over it.
 */
static uint64_t pci_addr_read(void *opaque, uint64_t offset, unsigned size)
{
    if (offset == 0 && size == 4) {
        return bus->config_addr;
    }
    if (offset == PIIX3_RCR_OFFSET && size == 1) {
        return bus->rcr;
    }
    return ~0ull >> (64 - 8 * size);
}

static void pci_addr_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    if (offset == 0 && size == 4) {
        bus->config_addr = value;
        return;
    }
    if (offset == PIIX3_RCR_OFFSET && size == 1) {
        if (value & PIIX3_RCR_RESET_CPU) {
            vm_request_reset(SHUTDOWN_CAUSE_GUEST_RESET);
            return;
        }
        bus->rcr = value & PIIX3_RCR_SYS_RST;
    }
}

static const struct io_ops pci_addr_ops = {
    .read = pci_addr_read,
    .write = pci_addr_write,
};

static const struct io_ops pci_data_ops = {
    .read = pci_data_read,
    .write = pci_data_write,
};

/* ---- functions on the bus ---- */

static void pci_init_masks(struct pci_device *d)
{
    /* QEMU's pci_init_wmask/w1cmask: the header's few writable fields and
     * all of the device-specific area. */
    d->wmask[PCI_CACHE_LINE_SIZE] = 0xff;
    d->wmask[PCI_INTERRUPT_LINE] = 0xff;
    set_word(d->wmask + PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY |
             PCI_COMMAND_MASTER | PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_SERR);
    set_word(d->w1cmask + PCI_STATUS, PCI_STATUS_W1C);
    memset(d->wmask + PCI_CONFIG_HEADER_SIZE, 0xff,
           PCI_CONFIG_SPACE_SIZE - PCI_CONFIG_HEADER_SIZE);
}

void pci_set_ids(struct pci_device *d, uint16_t vendor, uint16_t device, uint8_t revision,
                 uint32_t class_code)
{
    set_word(d->config + PCI_VENDOR_ID, vendor);
    set_word(d->config + PCI_DEVICE_ID, device);
    d->config[PCI_REVISION_ID] = revision;
    d->config[PCI_CLASS_PROG] = class_code;
    set_word(d->config + PCI_CLASS_DEVICE, class_code >> 8);
    set_word(d->config + PCI_SUBSYSTEM_VENDOR_ID, PCI_SUBVENDOR_ID_REDHAT_QUMRANET);
    set_word(d->config + PCI_SUBSYSTEM_ID, PCI_SUBDEVICE_ID_QEMU);
}

static const char *dev_id_text(const struct pci_device *d)
{
    return d->id ? d->id : "(null)";
}

/* QEMU's pci_init_multifunction: function 0 decides for the slot. */
static bool pci_check_multifunction(int devfn, bool multifunction, GError **errp)
{
    unsigned slot = PCI_SLOT(devfn);

    if (PCI_FUNC(devfn)) {
        struct pci_device *f0 = bus->dev[PCI_DEVFN(slot, 0)];

        if (f0 && !f0->multifunction) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "PCI: single function device can't be populated in function %x.%x",
                        slot, PCI_FUNC(devfn));
            return false;
        }
        return true;
    }
    if (multifunction) {
        return true;
    }
    for (unsigned fn = 1; fn < 8; fn++) {
        if (bus->dev[PCI_DEVFN(slot, fn)]) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "PCI: %x.0 indicates single function, but %x.%x is already "
                        "populated.", slot, slot, fn);
            return false;
        }
    }
    return true;
}

struct pci_device *pci_device_add(const char *type_name, const char *id, int devfn,
                                  bool multifunction, GError **errp)
{
    struct pci_device *d;

    if (!bus) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "No 'PCI' bus found for device '%s'", type_name);
        return NULL;
    }
    if (devfn < 0) {
        /* The first slot whose function 0 is free, as QEMU picks. */
        for (devfn = 0; devfn < 256 && bus->dev[devfn]; devfn += 8) {
        }
        if (devfn >= 256) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "PCI: no slot/function available for %s, all in use or reserved",
                        type_name);
            return NULL;
        }
    } else if (devfn > 255) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "PCI: bad address for %s",
                    type_name);
        return NULL;
    } else if (bus->dev[devfn]) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "PCI: slot %d function %d not available for %s, in use by %s,id=%s",
                    PCI_SLOT(devfn), PCI_FUNC(devfn), type_name,
                    bus->dev[devfn]->type_name, dev_id_text(bus->dev[devfn]));
        return NULL;
    }
    if (!pci_check_multifunction(devfn, multifunction, errp)) {
        return NULL;
    }
    d = g_new0(struct pci_device, 1);
    d->devfn = devfn;
    d->type_name = type_name;
    d->id = g_strdup(id);
    d->multifunction = multifunction;
    d->intx_pirq = -1;
    if (multifunction) {
        d->config[PCI_HEADER_TYPE] |= PCI_HEADER_TYPE_MULTI_FUNCTION;
    }
    for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
        d->bar[i].mapped = PCI_BAR_UNMAPPED;
    }
    pci_init_masks(d);
    bus->dev[devfn] = d;
    return d;
}

int pci_register_bar(struct pci_device *d, unsigned idx, uint8_t type, uint64_t size,
                     const char *name, const struct io_ops *ops, void *opaque,
                     GError **errp)
{
    bool is64 = !(type & PCI_BAR_SPACE_IO) && (type & PCI_BAR_MEM_TYPE_64);
    uint64_t min = (type & PCI_BAR_SPACE_IO) ? 4 : 16;
    uint64_t wmask = ~(size - 1);

    if (idx + is64 >= PCI_NUM_BARS || size < min || (size & (size - 1)) ||
        ((type & PCI_BAR_SPACE_IO) && size > 0x100) || (!is64 && size > (1ull << 31))) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "%s: BAR %u of size 0x%" G_GINT64_MODIFIER "x is not possible",
                    d->type_name, idx, size);
        return -EINVAL;
    }
    d->bar[idx] = (struct pci_bar){
        .size = size, .type = type, .name = name, .ops = ops, .opaque = opaque,
        .mapped = PCI_BAR_UNMAPPED,
    };
    set_long(d->config + bar_offset(idx), type);
    set_long(d->wmask + bar_offset(idx), wmask);
    if (is64) {
        set_long(d->config + bar_offset(idx + 1), 0);
        set_long(d->wmask + bar_offset(idx + 1), wmask >> 32);
    }
    return 0;
}

int pci_add_capability(struct pci_device *d, uint8_t cap_id, unsigned size, GError **errp)
{
    unsigned off = (MAX(d->cap_end, PCI_CAP_FIRST) + 3) & ~3u;

    if (size < 2 || off + size > PCI_CONFIG_SPACE_SIZE) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "%s: no room for a capability of %u bytes", d->type_name, size);
        return -ENOSPC;
    }
    memset(d->wmask + off, 0, size);
    memset(d->w1cmask + off, 0, size);
    d->config[off] = cap_id;
    d->config[off + 1] = d->config[PCI_CAPABILITY_LIST];
    d->config[PCI_CAPABILITY_LIST] = off;
    d->config[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    d->cap_end = off + size;
    return off;
}

/* ---- expansion ROMs ---- */

static uint64_t pci_rom_read(void *opaque, uint64_t offset, unsigned size)
{
    const struct pci_device *d = opaque;
    uint64_t v = 0;

    for (unsigned i = 0; i < size && offset + i < d->rom.size; i++) {
        v |= (uint64_t)d->rom_data[offset + i] << (8 * i);
    }
    return v;
}

static void pci_rom_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    const struct pci_device *d = opaque;

    /* A ROM ignores writes. */
    log_mask(LOG_GUEST_ERROR, "pci %02x.%x: write to its expansion ROM at offset 0x%"
             G_GINT64_MODIFIER "x dropped\n", PCI_SLOT(d->devfn), PCI_FUNC(d->devfn), offset);
}

static const struct io_ops pci_rom_ops = {
    .read = pci_rom_read,
    .write = pci_rom_write,
};

/* The ROM BAR of bar_size bytes (a power of two) holding size bytes of data. */
static int pci_rom_install(struct pci_device *d, const void *data, size_t size,
                           uint64_t bar_size, GError **errp)
{
    if (d->rom.size || !size || size > bar_size || bar_size > (1u << 31) ||
        (bar_size & (bar_size - 1))) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "%s: an expansion ROM of %zu bytes is not possible", d->type_name, size);
        return -EINVAL;
    }
    bar_size = MAX(bar_size, PCI_ROM_MIN_SIZE);
    d->rom_data = g_malloc0(bar_size);
    memcpy(d->rom_data, data, size);
    d->rom = (struct pci_bar){
        .size = bar_size, .type = 0, .name = "pci-rom", .ops = &pci_rom_ops, .opaque = d,
        .mapped = PCI_BAR_UNMAPPED,
    };
    /* Address bits above the size and the enable bit are writable. */
    set_long(d->config + PCI_ROM_ADDRESS, 0);
    set_long(d->wmask + PCI_ROM_ADDRESS,
             (~(uint32_t)(bar_size - 1) & PCI_ROM_ADDRESS_MASK) | PCI_ROM_ADDRESS_ENABLE);
    return 0;
}

/* Reads a regular file of at most max bytes; -errno, or -EFBIG when larger. */
static int pci_rom_read_file(const char *path, uint64_t max, uint8_t **data, size_t *size)
{
    struct stat st;
    size_t done = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return -errno;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return -EINVAL;
    }
    *size = st.st_size;
    if ((uint64_t)st.st_size > max) {
        close(fd);
        return -EFBIG;
    }
    *data = g_malloc(MAX(*size, 1));
    while (done < *size) {
        ssize_t n = read(fd, *data + done, *size - done);

        if (n <= 0) {
            g_free(*data);
            close(fd);
            return n < 0 ? -errno : -EIO;
        }
        done += n;
    }
    close(fd);
    return 0;
}

/*
 * rombar=0: QEMU's rom_add_vga / rom_add_option, the image as an fw_cfg
 * file SeaBIOS runs like a ROM BAR's ("vgaroms/" for a VGA, "genroms/"
 * otherwise, then the file's base name).
 */
static int pci_rom_to_fw_cfg(struct pci_device *d, struct fw_cfg *fw, const char *name,
                             const uint8_t *data, size_t size, GError **errp)
{
    g_autofree char *base = g_path_get_basename(name);
    g_autofree char *file = NULL;
    bool vga = cfg_word(d, PCI_CLASS_DEVICE) == 0x0300;

    if (!fw) {
        log_mask(LOG_UNIMP, "%s: rombar=0 and no fw_cfg: the option ROM %s goes nowhere\n",
                 d->type_name, name);
        return 0;
    }
    file = g_strdup_printf("%s/%s", vga ? "vgaroms" : "genroms", base);
    return fw_cfg_add_file(fw, file, data, size, errp) < 0 ? -EINVAL : 0;
}

int pci_add_option_rom(struct pci_device *d, const struct dev_config *cfg,
                       const char *default_romfile, const GPtrArray *datadirs,
                       struct fw_cfg *fw, const char *hint, GError **errp)
{
    const char *name = dev_config_str(cfg, "romfile");
    uint64_t romsize = dev_config_uint(cfg, "romsize");
    g_autofree char *path = NULL;
    g_autofree uint8_t *data = NULL;
    size_t size = 0;
    int ret;

    if (!name) {
        name = default_romfile;
    }
    if (romsize != UINT32_MAX && (!romsize || (romsize & (romsize - 1)))) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "ROM size %" G_GUINT64_FORMAT " is not a power of two", romsize);
        return -EINVAL;
    }
    if (!name || !*name) {
        return 0;
    }
    path = datadir_find(datadirs, name);
    if (!path) {
        /* The hint names where the default image comes from. */
        if (!default_romfile || strcmp(name, default_romfile)) {
            hint = NULL;
        }
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "failed to find romfile \"%s\"%s%s",
                    name, hint ? "; " : "", hint ? hint : "");
        return -ENOENT;
    }
    ret = pci_rom_read_file(path, 1u << 31, &data, &size);
    if (ret == -EFBIG) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "romfile \"%s\" too large (size cannot exceed 2 GiB)", name);
        return ret;
    }
    if (ret < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "failed to load romfile \"%s\": %s",
                    name, g_strerror(-ret));
        return ret;
    }
    if (!size) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "romfile \"%s\" is empty", name);
        return -EINVAL;
    }
    if (!dev_config_uint(cfg, "rombar")) {
        return pci_rom_to_fw_cfg(d, fw, name, data, size, errp);
    }
    if (romsize != UINT32_MAX && size > romsize) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "romfile \"%s\" (%zu bytes) is too large for ROM size %" G_GUINT64_FORMAT,
                    name, size, romsize);
        return -EFBIG;
    }
    return pci_rom_install(d, data, size, romsize != UINT32_MAX ? romsize : pow2_ceil(size),
                           errp);
}

struct pci_device *pci_find_device(unsigned devfn)
{
    return bus && devfn < 256 ? bus->dev[devfn] : NULL;
}

bool pci_bus_present(void)
{
    return bus != NULL;
}

int pci_parse_addr(const struct dev_config *cfg, int *devfn, GError **errp)
{
    const char *s = dev_config_str(cfg, "addr");
    unsigned long slot, fn = 0;
    char *e;

    *devfn = -1;
    if (!s) {
        return 0;
    }
    /* QEMU's set_pci_devfn: strtoul base 16 for both parts (so " 2" and
     * "0x2" pass), nothing after them. */
    slot = strtoul(s, &e, 16);
    if (e == s) {
        goto invalid;
    }
    if (*e == '.') {
        const char *f = e + 1;

        fn = strtoul(f, &e, 16);
        if (e == f) {
            goto invalid;
        }
    }
    if (*e || slot > 31 || fn > 7) {
        goto invalid;
    }
    *devfn = PCI_DEVFN(slot, fn);
    return 0;

invalid:
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                "Property '%s.addr' doesn't take value '%s'", cfg->type->name, s);
    return -EINVAL;
}

struct pci_device *pci_device_add_cfg(const struct dev_config *cfg, GError **errp)
{
    int devfn;

    if (pci_parse_addr(cfg, &devfn, errp) < 0) {
        return NULL;
    }
    return pci_device_add(cfg->type->name, cfg->id, devfn,
                          dev_config_bool(cfg, "multifunction"), errp);
}

/* ---- the bridges ---- */

struct cfg_byte {
    uint8_t addr, value;
};

/* i440FX registers as SeaBIOS leaves them (PAM 0x59-0x5f, SMRAM 0x72), for a boot
 * without firmware. */
static const struct cfg_byte i440fx_regs[] = {
    { 0x57, 0x10 }, { 0x59, 0x10 }, { 0x5a, 0x11 }, { 0x5b, 0x11 }, { 0x5c, 0x11 },
    { 0x5d, 0x11 }, { 0x5e, 0x11 }, { 0x5f, 0x33 }, { 0x72, 0x0a },
};

/* ... and as QEMU's i440fx_realize leaves them for the firmware: every PAM segment
 * decoding to the PCI side (the ROM), SMRAM closed with its fixed C_BASE_SEG bits. */
static const struct cfg_byte i440fx_regs_reset[] = {
    { 0x57, 0x10 }, { 0x72, 0x02 },
};

/* PIIX3 registers as QEMU resets them and SeaBIOS leaves them; the PIRQ
 * routes start disabled and pci_firmware_setup() fills them. */
static const struct cfg_byte piix3_regs[] = {
    { 0x4c, 0x4d }, { 0x4e, 0x03 },
    { 0x60, PIIX3_PIRQ_DISABLE }, { 0x61, PIIX3_PIRQ_DISABLE },
    { 0x62, PIIX3_PIRQ_DISABLE }, { 0x63, PIIX3_PIRQ_DISABLE },
    { 0x69, 0x02 }, { 0x70, 0x80 }, { 0x76, 0x0c }, { 0x77, 0x0c }, { 0x78, 0x02 },
    { 0xa0, 0x08 }, { 0xa8, 0x0f },
};

static void cfg_fill(struct pci_device *d, const struct cfg_byte *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        d->config[t[i].addr] = t[i].value;
    }
}

/* A write to the PAM or SMRAM registers remaps the legacy ranges (hw/i440fx-pam.c). */
static void i440fx_config_written(struct pci_device *d, unsigned addr, unsigned len)
{
    if (ranges_overlap(addr, len, I440FX_PAM0, I440FX_PAM_COUNT) ||
        ranges_overlap(addr, len, I440FX_SMRAM, 1)) {
        i440fx_pam_update(d->config);
    }
}

static void piix3_config_written(struct pci_device *d, unsigned addr, unsigned len)
{
    if (ranges_overlap(addr, len, PIIX3_PIRQRC, PIIX_NUM_PIRQS)) {
        piix3_update_isa_irqs();
    }
}

int pci_host_create_pc(struct machine *m, GError **errp)
{
    struct pci_device *host, *isa;
    int ret;

    if (bus) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "the PCI bus exists already");
        return -EEXIST;
    }
    ret = io_register_pio(PCI_CONFIG_ADDRESS_PORT, 4, "pci-conf-idx", &pci_addr_ops, NULL,
                          errp);
    if (ret < 0) {
        return ret;
    }
    ret = io_register_pio(PCI_CONFIG_DATA_PORT, 4, "pci-conf-data", &pci_data_ops, NULL,
                          errp);
    if (ret < 0) {
        io_unregister_pio(PCI_CONFIG_ADDRESS_PORT, 4);
        return ret;
    }
    bus = g_new0(struct pci_bus, 1);
    bus->firmware = m && m->firmware;

    /* 00.0: 82441FX PMC, Intel 440FX datasheet, section 3.2. */
    host = pci_device_add("i440FX", NULL, PCI_DEVFN(0, 0), false, errp);
    pci_set_ids(host, PCI_VENDOR_ID_INTEL, 0x1237, 0x02, 0x060000);
    if (bus->firmware) {
        cfg_fill(host, i440fx_regs_reset, G_N_ELEMENTS(i440fx_regs_reset));
    } else {
        cfg_fill(host, i440fx_regs, G_N_ELEMENTS(i440fx_regs));
    }
    if (m) {
        /* QEMU's I440FX_COREBOOT_RAM_SIZE: RAM in 8 MiB units, at most 255. */
        host->config[0x57] = MIN(m->ram_size >> 23, 255u);
    }
    host->config_written = i440fx_config_written;
    i440fx_pam_update(host->config);

    /* 01.0: 82371SB PIIX3 function 0, the PCI-to-ISA bridge (multi-function). */
    isa = pci_device_add("PIIX3", NULL, PCI_DEVFN(1, 0), true, errp);
    pci_set_ids(isa, PCI_VENDOR_ID_INTEL, 0x7000, 0x00, 0x060100);
    set_word(isa->config + PCI_STATUS, PCI_STATUS_DEVSEL_MEDIUM);
    cfg_fill(isa, piix3_regs, G_N_ELEMENTS(piix3_regs));
    isa->config_written = piix3_config_written;
    bus->piix3 = isa;
    return 0;
}

void pci_bus_destroy(void)
{
    if (!bus) {
        return;
    }
    for (unsigned i = 0; i < 256; i++) {
        if (bus->dev[i]) {
            if (bus->dev[i]->destroy) {
                bus->dev[i]->destroy(bus->dev[i]);
            }
            g_free(bus->dev[i]->opaque);
            g_free(bus->dev[i]->rom_data);
            g_free(bus->dev[i]->msix);
            g_free(bus->dev[i]->id);
            g_free(bus->dev[i]);
        }
    }
    g_free(bus);
    bus = NULL;
}

/* ---- the firmware's assignment ---- */

/* A BAR the firmware places: idx 0-5, or PCI_ROM_REF for the expansion ROM
 * (SeaBIOS's PCI_ROM_SLOT, sorted after the six BARs). */
struct bar_ref {
    struct pci_device *d;
    unsigned idx;
};

#define PCI_ROM_REF PCI_NUM_BARS

static const struct pci_bar *bar_ref_bar(const struct bar_ref *r)
{
    return r->idx == PCI_ROM_REF ? &r->d->rom : &r->d->bar[r->idx];
}

/* Largest first; equal sizes keep bus order (SeaBIOS's sorted insertion). */
static int bar_ref_cmp(const void *a, const void *b)
{
    const struct bar_ref *x = a, *y = b;
    uint64_t sx = bar_ref_bar(x)->size, sy = bar_ref_bar(y)->size;

    if (sx != sy) {
        return sx > sy ? -1 : 1;
    }
    if (x->d->devfn != y->d->devfn) {
        return x->d->devfn < y->d->devfn ? -1 : 1;
    }
    return x->idx < y->idx ? -1 : x->idx > y->idx ? 1 : 0;
}

static void pci_write_bar(struct bar_ref *r, uint64_t addr)
{
    struct pci_device *d = r->d;

    if (r->idx == PCI_ROM_REF) {
        /* SeaBIOS writes the address with the enable bit clear: the ROM
         * stays off until someone (its option ROM scan) turns it on. */
        pci_config_write(d, PCI_ROM_ADDRESS, (uint32_t)addr, 4);
        return;
    }
    pci_config_write(d, bar_offset(r->idx), (uint32_t)addr | d->bar[r->idx].type, 4);
    if (d->bar[r->idx].type & PCI_BAR_MEM_TYPE_64 && !(d->bar[r->idx].type & PCI_BAR_SPACE_IO)) {
        pci_config_write(d, bar_offset(r->idx + 1), addr >> 32, 4);
    }
}

enum { REGION_IO, REGION_MEM, REGION_PREFMEM, REGION__MAX };

/* One of SeaBIOS's root-bus regions: its BARs, largest first. */
struct pci_region {
    GArray *refs;
    uint64_t sum, align, base;
};

static unsigned bar_region(const struct pci_bar *b)
{
    if (b->type & PCI_BAR_SPACE_IO) {
        return REGION_IO;
    }
    return (b->type & PCI_BAR_MEM_PREFETCH) ? REGION_PREFMEM : REGION_MEM;
}

static void pci_collect_regions(struct pci_region *r)
{
    for (unsigned k = 0; k < REGION__MAX; k++) {
        r[k] = (struct pci_region){ .refs = g_array_new(FALSE, FALSE, sizeof(struct bar_ref)),
                                    .align = 1 };
    }
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        struct pci_device *d = bus->dev[devfn];

        for (unsigned i = 0; d && i <= PCI_ROM_REF; i++) {
            struct bar_ref ref = { d, i };
            const struct pci_bar *bar = bar_ref_bar(&ref);
            struct pci_region *reg;

            if (!bar->size) {
                continue;
            }
            reg = &r[bar_region(bar)];
            g_array_append_val(reg->refs, ref);
            reg->sum += bar->size;
            reg->align = MAX(reg->align, bar->size);
        }
    }
    for (unsigned k = 0; k < REGION__MAX; k++) {
        g_array_sort(r[k].refs, bar_ref_cmp);
    }
}

/* Packs region r just below top; false when it does not fit above low. */
static bool pci_region_below(struct pci_region *r, uint64_t top, uint64_t low)
{
    if (r->sum > top) {
        return false;
    }
    r->base = (top - r->sum) & ~(r->align - 1);
    return r->base >= low;
}

/*
 * SeaBIOS's root-bus layout (src/fw/pciinit.c): I/O at 0xc000 when it fits
 * below 64 KiB, else at 0x1000; of the memory and prefetchable regions, the
 * one with the smaller alignment goes right below the window's end and the
 * other below it.  Whatever does not fit stays unassigned (SeaBIOS would
 * move 64-bit BARs above 4 GiB; hyvm does not yet).
 */
static void pci_assign_regions(struct pci_region *r, uint64_t mem_low)
{
    struct pci_region *top = &r[REGION_PREFMEM], *below = &r[REGION_MEM];
    bool ok[REGION__MAX];

    r[REGION_IO].base = r[REGION_IO].sum < 0x10000 - PCI_IO_WINDOW_HIGH
                        ? PCI_IO_WINDOW_HIGH : PCI_IO_WINDOW_LOW;
    ok[REGION_IO] = r[REGION_IO].sum <= PCI_IO_LOW_END - PCI_IO_WINDOW_LOW;
    if (below->align < top->align) {
        top = &r[REGION_MEM];
        below = &r[REGION_PREFMEM];
    }
    ok[REGION_MEM] = ok[REGION_PREFMEM] =
        pci_region_below(top, PCI_MEM_WINDOW_END, mem_low) &&
        pci_region_below(below, top->base, mem_low);
    for (unsigned k = 0; k < REGION__MAX; k++) {
        uint64_t addr = r[k].base;

        if (!ok[k] && r[k].refs->len) {
            log_mask(LOG_UNIMP, "pci: %s BARs (0x%" G_GINT64_MODIFIER "x bytes) do not "
                     "fit; left unassigned\n", k == REGION_IO ? "I/O" : "memory", r[k].sum);
        }
        for (unsigned i = 0; ok[k] && i < r[k].refs->len; i++) {
            struct bar_ref *ref = &g_array_index(r[k].refs, struct bar_ref, i);

            pci_write_bar(ref, addr);
            addr += bar_ref_bar(ref)->size;
        }
        g_array_free(r[k].refs, TRUE);
    }
}

/* SeaBIOS's PIRQ to IRQ choice for the PIIX (src/fw/pciinit.c). */
static const uint8_t pci_firmware_irqs[PIIX_NUM_PIRQS] = { 10, 10, 11, 11 };

static uint64_t low_ram_end(void)
{
    uint64_t end = 0;

    for (unsigned i = 0; i < ram_region_count(); i++) {
        const struct ram_region *r = ram_region_get(i);

        if (r->gpa < (1ull << 32)) {
            end = MAX(end, r->gpa + r->size);
        }
    }
    return end;
}

uint16_t pci_firmware_elcr(void)
{
    uint16_t elcr = 0;

    for (unsigned p = 0; bus && !bus->firmware && p < PIIX_NUM_PIRQS; p++) {
        elcr |= 1u << pci_firmware_irqs[p];
    }
    return elcr;
}

void pci_firmware_setup(void)
{
    struct pci_region regions[REGION__MAX];
    uint16_t elcr;
    uint8_t b[2];

    if (!bus) {
        return;
    }
    for (unsigned devfn = 0; devfn < 256 && !bus->power_on_saved; devfn++) {
        if (bus->dev[devfn]) {
            memcpy(bus->dev[devfn]->power_on_config, bus->dev[devfn]->config,
                   PCI_CONFIG_SPACE_SIZE);
        }
    }
    bus->power_on_saved = true;
    if (bus->firmware) {
        return;     /* SeaBIOS assigns the BARs and routes the PIRQs itself */
    }
    pci_collect_regions(regions);
    pci_assign_regions(regions, low_ram_end());
    for (unsigned p = 0; p < PIIX_NUM_PIRQS; p++) {
        pci_config_write(bus->piix3, PIIX3_PIRQRC + p, pci_firmware_irqs[p], 1);
    }
    elcr = pci_firmware_elcr();
    /* The PIRQ lines are level-triggered and shared: mark them in the ELCR
     * (under KVM the in-kernel PIC owns these ports: the machine hands
     * pci_firmware_elcr() to accel_ops.pic_set_level_triggered). */
    io_pio(ELCR_PORT, b, 2, false);
    b[0] |= elcr;
    b[1] |= elcr >> 8;
    io_pio(ELCR_PORT, b, 2, true);
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        struct pci_device *d = bus->dev[devfn];
        unsigned pin;

        if (!d) {
            continue;
        }
        pin = d->config[PCI_INTERRUPT_PIN];
        if (cfg_word(d, PCI_VENDOR_ID) == PCI_VENDOR_ID_INTEL &&
            cfg_word(d, PCI_DEVICE_ID) == PIIX4_PM_DEVICE_ID) {
            /* The PIIX4 PM function's SCI is wired to IRQ 9 (SeaBIOS's
             * piix4_pm_setup writes 9 over the PIRQ's line). */
            pci_config_write(d, PCI_INTERRUPT_LINE, PIIX4_PM_SCI_IRQ, 1);
        } else if (pin >= 1 && pin <= 4) {
            pci_config_write(d, PCI_INTERRUPT_LINE,
                             pci_firmware_irqs[pci_pirq_of(d, pin)], 1);
        }
        pci_config_write(d, PCI_COMMAND, cfg_word(d, PCI_COMMAND) | PCI_COMMAND_IO |
                         PCI_COMMAND_MEMORY | PCI_COMMAND_SERR, 2);
    }
}

void pci_bus_reset(void)
{
    if (!bus) {
        return;
    }
    bus->config_addr = 0;
    bus->rcr = 0;
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        struct pci_device *d = bus->dev[devfn];

        if (!d) {
            continue;
        }
        for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
            pci_bar_unmap(&d->bar[i]);
        }
        pci_bar_unmap(&d->rom);
        if (bus->power_on_saved) {
            memcpy(d->config, d->power_on_config, PCI_CONFIG_SPACE_SIZE);
        }
        msix_reset(d);
        if (d->reset) {
            d->reset(d);
        }
        d->intx = false;
        pci_update_intx(d);
    }
    if (bus->dev[0]) {
        i440fx_pam_update(bus->dev[0]->config);
    }
    piix3_update_isa_irqs();
    pci_firmware_setup();
}
