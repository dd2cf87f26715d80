/*
 * The ACPI power-management registers of -M pc's PIIX4 (ACPI 6.5, 4.8):
 * the PM1a event block (PM1_STS, PM1_EN) at 0x600, the PM1a control block
 * (PM1_CNT) at 0x604, the 24-bit PM timer at 0x608, and the APM/SMI
 * command port 0xb2 where firmware-less guests switch ACPI mode on.
 * These are the addresses QEMU's PIIX4 uses with its firmware, so guests
 * written for it find them.
 *
 * On a PCI bus the registers belong to the PIIX4's function 3, 8086:7113
 * at 00:01.3 (Intel 82371AB datasheet, 3.1 "PCI configuration registers
 * (power management function)"): PMBA (0x40) places the 64-byte block and
 * PMREGMISC bit 0 (0x80) enables it.  With firmware they start as after
 * power-on (block off) and SeaBIOS moves the block to 0x600 (0xb000 when
 * it finds no ACPI table loader) and enables it; without firmware they
 * start as SeaBIOS leaves them.  DEVACTB's APMC_EN bit (0x58 bit 25) is
 * preset as QEMU presets it with -machine smm=off: SeaBIOS reads it as
 * "SMM set up already" and never relocates SMBASE through an SMI.
 *
 * What it gives the machine: a power button (system_powerdown sets
 * PWRBTN_STS and raises the SCI, GSI 9, when PWRBTN_EN and SCI_EN are
 * set) and soft-off (SLP_TYP 0 with SLP_EN, the S5 value QEMU's tables
 * give, powers the machine off as a guest shutdown).  The timer's
 * overflow status (TMR_STS) is not raised.
 *
 * Threads: registers are accessed by vCPU threads and the power button is
 * pressed by the main thread, both with the big lock held.
 */
#include <errno.h>
#include <time.h>

#include "hw/devices.h"
#include "hw/irq.h"
#include "hw/pci.h"
#include "system/log.h"
#include "system/memory.h"
#include "system/runstate.h"
#include "system/vclock.h"

#define ACPI_PM_BASE 0x600
#define ACPI_SMI_CMD 0xb2
#define ACPI_SCI_GSI 9

/* ACPI 6.5, tables 4.16-4.18 and 4.21. */
#define PM1_STS_TMR     (1u << 0)
#define PM1_STS_GBL     (1u << 5)
#define PM1_STS_PWRBTN  (1u << 8)
#define PM1_STS_RTC     (1u << 10)
#define PM1_STS_WAK     (1u << 15)
#define PM1_CNT_SCI_EN  (1u << 0)
#define PM1_CNT_SLP_EN  (1u << 13)
#define PM1_CNT_SLP_TYP(v) (((v) >> 10) & 7)

/* The values QEMU's PIIX4 takes on the SMI command port. */
#define SMI_ACPI_ENABLE  0xf1
#define SMI_ACPI_DISABLE 0xf0

/* PM timer: 3.579545 MHz (ACPI 6.5, 4.8.3.3). */
#define PM_TIMER_HZ 3579545ull

/* The PM function's config registers (82371AB datasheet, 3.1). */
#define PIIX4_PM_DEVFN      PCI_DEVFN(1, 3)
#define PIIX4_PMBA          0x40
#define PIIX4_PMBA_MASK     0xffc0u
#define PIIX4_DEVACTB       0x58
#define PIIX4_DEVACTB_APMC  0x02        /* byte 0x5b, bit 1: APMC_EN (bit 25) */
#define PIIX4_PMREGMISC     0x80
#define PIIX4_SMBBA         0x90
#define PIIX4_SMBHSTCFG     0xd2
#define PIIX4_PM_BLOCK_SIZE 12          /* PM1a_EVT, PM1a_CNT, PM_TMR */

struct acpi_pm {
    uint16_t sts, en, cnt;
    uint8_t apm_cnt, apm_sts;
    int sci;
    struct pci_device *pci;     /* 00:01.3, or NULL without PCI */
    uint16_t base;              /* where the block is registered, 0: nowhere */
};

static struct acpi_pm acpi_pm;

static void acpi_pm_update_sci(struct acpi_pm *pm)
{
    int level = (pm->cnt & PM1_CNT_SCI_EN) &&
                (pm->sts & pm->en & (PM1_STS_TMR | PM1_STS_GBL | PM1_STS_PWRBTN | PM1_STS_RTC));

    if (level != pm->sci) {
        pm->sci = level;
        irq_set_level(ACPI_SCI_GSI, level);
    }
}

/* The 3.579545 MHz counter of the guest's virtual clock (24 bits). */
static uint32_t acpi_pm_timer(void)
{
    int64_t now = vclock_virtual_ns();
    unsigned __int128 ns = now > 0 ? (unsigned __int128)now : 0;

    return (uint32_t)(ns * PM_TIMER_HZ / 1000000000u) & 0xffffff;
}

static uint64_t acpi_pm_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;
    uint64_t regs;

    if (offset >= 8) {
        return acpi_pm_timer() >> ((offset - 8) * 8);
    }
    /* Byte access to the 16-bit registers reads their halves. */
    regs = pm->sts | ((uint64_t)pm->en << 16) | ((uint64_t)pm->cnt << 32);
    return (regs >> (offset * 8)) & (size >= 8 ? ~0ull : (1ull << (size * 8)) - 1);
}

static void acpi_pm_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct acpi_pm *pm = opaque;

    if (offset >= 8) {
        return;     /* the timer is read-only */
    }
    for (unsigned i = 0; i < size && offset + i < 8; i++) {
        uint8_t b = value >> (i * 8);
        unsigned reg = (offset + i) / 2, shift = ((offset + i) & 1) * 8;

        switch (reg) {
        case 0:     /* PM1_STS: write one to clear */
            pm->sts &= ~((uint16_t)b << shift);
            break;
        case 1:     /* PM1_EN */
            pm->en = (pm->en & ~(0xffu << shift)) | ((uint16_t)b << shift);
            break;
        case 2:     /* PM1_CNT; SLP_EN reads back as 0 (4.8.3.2.1) */
            pm->cnt = (pm->cnt & ~(0xffu << shift)) | ((uint16_t)b << shift);
            break;
        default:
            break;
        }
    }
    if (pm->cnt & PM1_CNT_SLP_EN) {
        unsigned typ = PM1_CNT_SLP_TYP(pm->cnt);

        pm->cnt &= ~PM1_CNT_SLP_EN;
        if (typ == 0) {
            vm_request_shutdown(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        } else {
            log_mask(LOG_UNIMP, "acpi-pm: sleep state with SLP_TYP %u is not supported\n",
                     typ);
        }
    }
    acpi_pm_update_sci(pm);
}

static const struct io_ops acpi_pm_ops = {
    .read = acpi_pm_read,
    .write = acpi_pm_write,
};

static uint64_t acpi_smi_read(void *opaque, uint64_t offset, unsigned size)
{
    struct acpi_pm *pm = opaque;

    return offset == 0 ? pm->apm_cnt : pm->apm_sts;
}

static void acpi_smi_write(void *opaque, uint64_t offset, uint64_t value, unsigned size)
{
    struct acpi_pm *pm = opaque;

    if (offset == 1) {
        pm->apm_sts = value;
        return;
    }
    pm->apm_cnt = value;
    if (pm->apm_cnt == SMI_ACPI_ENABLE) {
        pm->cnt |= PM1_CNT_SCI_EN;
    } else if (pm->apm_cnt == SMI_ACPI_DISABLE) {
        pm->cnt &= ~PM1_CNT_SCI_EN;
    }
    acpi_pm_update_sci(pm);
}

static const struct io_ops acpi_smi_ops = {
    .read = acpi_smi_read,
    .write = acpi_smi_write,
};

static void acpi_pm_power_button(void *opaque)
{
    struct acpi_pm *pm = opaque;

    pm->sts |= PM1_STS_PWRBTN;
    acpi_pm_update_sci(pm);
}

/* Registers the PM block where PMBA and PMREGMISC put it (QEMU's pm_io_space_update). */
static void acpi_pm_io_update(struct acpi_pm *pm)
{
    const uint8_t *c = pm->pci->config;
    uint16_t base = (c[PIIX4_PMBA] | c[PIIX4_PMBA + 1] << 8) & PIIX4_PMBA_MASK;
    g_autoptr(GError) err = NULL;

    if (!(c[PIIX4_PMREGMISC] & 1)) {
        base = 0;
    }
    if (base == pm->base) {
        return;
    }
    if (pm->base) {
        io_unregister_pio(pm->base, PIIX4_PM_BLOCK_SIZE);
        pm->base = 0;
    }
    if (base && io_register_pio(base, PIIX4_PM_BLOCK_SIZE, "acpi-pm", &acpi_pm_ops, pm,
                                &err) < 0) {
        log_mask(LOG_GUEST_ERROR, "piix4-pm: PM block at 0x%x not mapped: %s\n", base,
                 err->message);
        return;
    }
    pm->base = base;
}

static void acpi_pm_config_written(struct pci_device *d, unsigned addr, unsigned len)
{
    if ((addr < PIIX4_PMBA + 4 && addr + len > PIIX4_PMBA) ||
        (addr <= PIIX4_PMREGMISC && addr + len > PIIX4_PMREGMISC)) {
        acpi_pm_io_update(&acpi_pm);
    }
}

/* System reset: the registers as after power-on (the bus restored the config). */
static void acpi_pm_pci_reset(struct pci_device *d)
{
    struct acpi_pm *pm = &acpi_pm;

    pm->sts = pm->en = pm->cnt = 0;
    pm->apm_cnt = pm->apm_sts = 0;
    acpi_pm_update_sci(pm);
    acpi_pm_io_update(pm);
}

/* 8086:7113 rev 03, class 0680 (other bridge), as QEMU's piix4_pm_realize and
 * piix4_pm_reset leave it; without firmware, as SeaBIOS's piix4_pm_setup
 * leaves it besides (SCI on IRQ 9, PM at 0x600, SMBus at 0x700). */
static int acpi_pm_create_pci(struct acpi_pm *pm, bool firmware, GError **errp)
{
    struct pci_device *d = pci_device_add("PIIX4_PM", NULL, PIIX4_PM_DEVFN, false, errp);
    uint8_t *c;

    if (!d) {
        return -EBUSY;
    }
    pci_set_ids(d, PCI_VENDOR_ID_INTEL, 0x7113, 0x03, 0x068000);
    c = d->config;
    c[PCI_STATUS] = 0x80;
    c[PCI_STATUS + 1] = 0x02;
    c[PCI_INTERRUPT_PIN] = 1;
    c[PIIX4_PMBA] = 0x01;           /* bit 0: I/O space indicator, read-only */
    c[PIIX4_DEVACTB + 3] = PIIX4_DEVACTB_APMC;
    c[0x5f] = 0x90;
    c[0x63] = 0x60;
    if (!firmware) {
        c[PCI_INTERRUPT_LINE] = ACPI_SCI_GSI;
        c[PIIX4_PMBA] = (uint8_t)(ACPI_PM_BASE | 1);
        c[PIIX4_PMBA + 1] = ACPI_PM_BASE >> 8;
        c[PIIX4_PMREGMISC] = 0x01;
        c[PIIX4_SMBBA] = (uint8_t)((ACPI_PM_BASE + 0x100) | 1);
        c[PIIX4_SMBBA + 1] = (ACPI_PM_BASE + 0x100) >> 8;
        c[PIIX4_SMBHSTCFG] = 0x09;
    }
    d->config_written = acpi_pm_config_written;
    d->reset = acpi_pm_pci_reset;
    pm->pci = d;
    acpi_pm_io_update(pm);
    return 0;
}

int acpi_pm_create(bool firmware, GError **errp)
{
    struct acpi_pm *pm = &acpi_pm;

    *pm = (struct acpi_pm){ 0 };
    if (pci_bus_present()) {
        if (acpi_pm_create_pci(pm, firmware, errp) < 0) {
            return -EBUSY;
        }
    } else if (io_register_pio(ACPI_PM_BASE, PIIX4_PM_BLOCK_SIZE, "acpi-pm", &acpi_pm_ops,
                               pm, errp) < 0) {
        return -EBUSY;
    } else {
        pm->base = ACPI_PM_BASE;
    }
    if (io_register_pio(ACPI_SMI_CMD, 2, "apm", &acpi_smi_ops, pm, errp) < 0) {
        return -EBUSY;
    }
    runstate_set_power_button(acpi_pm_power_button, pm);
    return 0;
}
