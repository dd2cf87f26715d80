/*
 * pvpanic: the guest reads the events the device supports, then reports
 * a panic (bit 0, PVPANIC_PANICKED).  QEMU's spec: docs/specs/pvpanic.rst.
 *
 * mode= picks the transport (the kernel command line, -append):
 *   isa   (the default) the ISA port 0x505
 *   fwcfg (-M pc) the port as fw_cfg's file "etc/pvpanic-port" gives it
 *         (le16; QEMU's pvpanic-isa adds it for firmware), then that port
 *   pci   pvpanic-pci (1b36:0011) found by a scan of bus 0 on -M pc: its
 *         IDs, revision and class, BAR 0 (memory) where the register is
 *         two bytes wide and the rest of the BAR reads 0
 *   mmio  hyvm's pvpanic-mmio on -M microvm: the byte at addr= (default
 *         0xfea01000)
 * For fwcfg, pci and mmio, events=N (default 3) is what the register must read;
 * the guest then writes bit 1 (crash kernel loaded: the VM runs on),
 * then bit 0.  Still running after that, it exits with code 0x33, so
 * the VMM's exit status tells the action: 0 (panic=shutdown, the
 * default), 1 (panic=exit-failure) or 0x67.  A failed check exits with
 * its line's check number.
 */
#include "guest.h"

#define PVPANIC_PORT 0x505
#define PVPANIC_MMIO_ADDR 0xfea01000u
#define PVPANIC_PCI_ID 0x00111b36u


#define STILL_RUNNING 0x33

static unsigned checks;

#define CHECK(cond)                                                          \
    do {                                                                     \
        checks++;                                                            \
        if (!(cond)) {                                                       \
            printf("panic: check %u failed: %s (line %d)\n", checks, #cond, \
                   __LINE__);                                                \
            return checks;                                                   \
        }                                                                    \
    } while (0)

/* fw_cfg's traditional interface (QEMU's docs/specs/fw_cfg.rst): a 16-bit
 * selector at 0x510, data bytes at 0x511; the file directory (key 0x19)
 * is a big-endian count, then 64-byte entries: size, key, 0, name. */
#define FW_CFG_SEL 0x510
#define FW_CFG_DATA 0x511

static uint32_t fw_cfg_be(unsigned n)
{
    uint32_t v = 0;

    while (n--) {
        v = v << 8 | inb(FW_CFG_DATA);
    }
    return v;
}

/* The port in "etc/pvpanic-port", or 0 when there is no such file. */
static uint16_t fw_cfg_pvpanic_port(void)
{
    static const char want[] = "etc/pvpanic-port";
    uint32_t count, size, key;
    char name[56];

    outw(FW_CFG_SEL, 0x19);
    count = fw_cfg_be(4);
    for (uint32_t i = 0; i < count && i < 64; i++) {
        size = fw_cfg_be(4);
        key = fw_cfg_be(2);
        fw_cfg_be(2);
        for (unsigned c = 0; c < sizeof(name); c++) {
            name[c] = inb(FW_CFG_DATA);
        }
        if (!strncmp(name, want, sizeof(want)) && size == 2) {
            outw(FW_CFG_SEL, key);
            return inb(FW_CFG_DATA) | inb(FW_CFG_DATA) << 8;
        }
    }
    return 0;
}

static int panic_port(uint16_t port, uint32_t events)
{
    uint8_t ev;

    CHECK(port != 0);
    printf("panic: fw_cfg names port 0x%x\n", port);
    ev = inb(port);
    printf("panic: device offers events 0x%x\n", ev);
    CHECK(ev == events);
    outb(port, 2);
    printf("panic: crash kernel reported, still running\n");
    outb(port, 1);
    printf("panic: still running after the panic\n");
    return STILL_RUNNING;
}

static volatile uint8_t *find_pci(void)
{
    unsigned devfn;
    uint32_t bar;

    for (devfn = 0; devfn < 256; devfn++) {
        if (pci_cfg_rd32(devfn, 0) == PVPANIC_PCI_ID) {
            break;
        }
    }
    if (devfn == 256) {
        printf("panic: no pvpanic-pci on bus 0\n");
        return NULL;
    }
    printf("panic: pvpanic-pci at %x.%x\n", devfn >> 3, devfn & 7);
    /* Class 0880h (other system peripheral), revision 1. */
    if (pci_cfg_rd32(devfn, 0x08) != 0x08800001) {
        printf("panic: class/revision 0x%x\n", pci_cfg_rd32(devfn, 0x08));
        return NULL;
    }
    bar = pci_cfg_rd32(devfn, 0x10);
    if ((bar & 0xf) || !(pci_cfg_rd32(devfn, 0x04) & 2)) {
        printf("panic: BAR 0 0x%x is not a decoded 32-bit memory BAR\n", bar);
        return NULL;
    }
    return (volatile uint8_t *)(bar & ~0xfu);
}

static int panic_mmio(volatile uint8_t *reg, unsigned width, uint32_t events)
{
    CHECK(reg != NULL);
    printf("panic: device offers events 0x%x\n", reg[0]);
    CHECK(reg[0] == events);
    if (width == 2) {
        CHECK(reg[1] == events);
        CHECK(*(volatile uint16_t *)reg == (events | events << 8));
        CHECK(reg[2] == 0 && reg[15] == 0);
    }
    reg[0] = 2;
    printf("panic: crash kernel reported, still running\n");
    reg[0] = 1;
    printf("panic: still running after the panic\n");
    return STILL_RUNNING;
}

int main(const struct mb_info *mbi)
{
    char mode[8], buf[16];
    uint32_t addr = PVPANIC_MMIO_ADDR, events = 3;
    uint8_t ev;

    if (mb_cmdline_arg(mbi, "addr", buf, sizeof(buf)) && parse_uint(buf, &addr) < 0) {
        return 0x7d;
    }
    if (mb_cmdline_arg(mbi, "events", buf, sizeof(buf)) && parse_uint(buf, &events) < 0) {
        return 0x7d;
    }
    if (!mb_cmdline_arg(mbi, "mode", mode, sizeof(mode)) || !strncmp(mode, "isa", 4)) {
        ev = inb(PVPANIC_PORT);
        printf("panic: device offers events 0x%x\n", ev);
        outb(PVPANIC_PORT, 1);
        printf("panic: still running after the panic\n");
        return 0;
    }
    if (!strncmp(mode, "fwcfg", 6)) {
        return panic_port(fw_cfg_pvpanic_port(), events);
    }
    if (!strncmp(mode, "pci", 4)) {
        return panic_mmio(find_pci(), 2, events);
    }
    if (!strncmp(mode, "mmio", 5)) {
        return panic_mmio((volatile uint8_t *)addr, 1, events);
    }
    printf("panic: unknown mode %s\n", mode);
    return 0x7e;
}
