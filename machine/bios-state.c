/*
 * The state SeaBIOS leaves behind on a PC when QEMU boots -kernel through
 * it, for the parts guests rely on without setting them up themselves.
 * hyvm enters a Multiboot kernel directly, so the machine recreates them:
 *
 * - the real-mode interrupt vector table: every vector points at an IRET
 *   in the F segment, the hardware IRQ vectors at stubs that acknowledge
 *   the i8259 first, the timer at SeaBIOS's official INT 08h address;
 * - the i8259 pair initialised as the BIOS does (IRQ 0-7 at vectors 08h-0Fh,
 *   IRQ 8-15 at 70h-77h, cascade on IRQ 2) with the timer unmasked;
 * - the i8254's channel 0 counting 65536 in mode 3: IRQ 0 at 18.2 Hz.
 *
 * kvm-unit-tests' real-mode test waits in HLT for that tick.
 *
 * The vector table and its stubs are written into RAM before the kernel is
 * loaded (a kernel placed over them wins, as over SeaBIOS's).  The chips
 * are programmed by the guest itself: the vCPU starts in a short stub that
 * does the port writes and then jumps to the kernel's entry with the entry
 * registers untouched.  Port writes from the guest reach whichever chips
 * the accelerator runs (the software CPU's, or KVM's in-kernel irqchip and
 * PIT), and a reset, which reloads the boot state, runs the stub again.
 *
 * Threads: main thread, while the machine is built.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "arch/x86/cpu.h"
#include "machine/machine-internal.h"
#include "system/error.h"
#include "system/memory.h"

#define BIOS_SEG 0xf000u
#define BIOS_BASE 0xf0000u

/* SeaBIOS's fixed entry points (the IBM PC BIOS's "official" offsets). */
#define OFF_IRET 0xff53u            /* default handler: IRET */
#define OFF_IRQ0 0xfea5u            /* INT 08h, the timer */
/* hyvm's own stubs, in a part of the segment SeaBIOS's fixed table skips. */
#define OFF_IRQ_MASTER 0xe000u      /* IRQ 1-7: EOI to the master */
#define OFF_IRQ_SLAVE 0xe010u       /* IRQ 8-15: EOI to both */
#define OFF_BOOT_STUB 0xe100u       /* 32-bit: program the chips, enter the kernel */

#define PIC_MASTER_BASE 0x08
#define PIC_SLAVE_BASE 0x70

/* push ax; mov al, 20h; out 20h, al; pop ax; iret */
static const uint8_t stub_eoi_master[] = { 0x50, 0xb0, 0x20, 0xe6, 0x20, 0x58, 0xcf };
/* push ax; mov al, 20h; out 0a0h, al; out 20h, al; pop ax; iret */
static const uint8_t stub_eoi_both[] = {
    0x50, 0xb0, 0x20, 0xe6, 0xa0, 0xe6, 0x20, 0x58, 0xcf,
};
static const uint8_t stub_iret[] = { 0xcf };

static uint32_t far_ptr(uint16_t off)
{
    return (uint32_t)BIOS_SEG << 16 | off;
}

static int bios_write_ivt(void)
{
    uint32_t ivt[256];

    for (unsigned v = 0; v < 256; v++) {
        ivt[v] = far_ptr(OFF_IRET);
    }
    ivt[PIC_MASTER_BASE] = far_ptr(OFF_IRQ0);
    for (unsigned irq = 1; irq < 8; irq++) {
        ivt[PIC_MASTER_BASE + irq] = far_ptr(OFF_IRQ_MASTER);
        ivt[PIC_SLAVE_BASE + irq] = far_ptr(OFF_IRQ_SLAVE);
    }
    ivt[PIC_SLAVE_BASE] = far_ptr(OFF_IRQ_SLAVE);
    for (unsigned v = 0; v < 256; v++) {
        ivt[v] = GUINT32_TO_LE(ivt[v]);
    }
    if (ram_write(0, ivt, sizeof(ivt)) < 0 ||
        ram_write(BIOS_BASE + OFF_IRET, stub_iret, sizeof(stub_iret)) < 0 ||
        ram_write(BIOS_BASE + OFF_IRQ0, stub_eoi_master, sizeof(stub_eoi_master)) < 0 ||
        ram_write(BIOS_BASE + OFF_IRQ_MASTER, stub_eoi_master, sizeof(stub_eoi_master)) < 0 ||
        ram_write(BIOS_BASE + OFF_IRQ_SLAVE, stub_eoi_both, sizeof(stub_eoi_both)) < 0) {
        return -1;
    }
    return 0;
}

/*
 * The port writes, as 32-bit code: "mov al, imm8; out imm8, al" pairs.
 * The 8259A initialisation sequence (ICW1-4) with the BIOS's vector bases,
 * the masks (OCW1: timer and cascade open), then PIT channel 0 in mode 3,
 * lobyte/hibyte, count 0 (65536).
 */
static const uint8_t stub_port_writes[][2] = {
    { 0x20, 0x11 }, { 0x21, PIC_MASTER_BASE }, { 0x21, 0x04 }, { 0x21, 0x01 },
    { 0xa0, 0x11 }, { 0xa1, PIC_SLAVE_BASE }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
    { 0x21, (uint8_t)~0x05 }, { 0xa1, 0xff },
    { 0x43, 0x36 }, { 0x40, 0x00 }, { 0x40, 0x00 },
};

#define STUB_MAX (G_N_ELEMENTS(stub_port_writes) * 4 + 10)

/* Builds the stub at gpa: the writes, EAX reloaded with its entry value
 * (the only register they touch), then JMP rel32 to entry. */
static size_t bios_build_stub(uint8_t *code, uint32_t gpa, uint32_t eax, uint32_t entry)
{
    size_t n = 0;
    uint32_t rel;

    for (size_t i = 0; i < G_N_ELEMENTS(stub_port_writes); i++) {
        code[n++] = 0xb0;                           /* mov al, imm8 */
        code[n++] = stub_port_writes[i][1];
        code[n++] = 0xe6;                           /* out imm8, al */
        code[n++] = stub_port_writes[i][0];
    }
    code[n++] = 0xb8;                               /* mov eax, imm32 */
    memcpy(code + n, &(uint32_t){ GUINT32_TO_LE(eax) }, 4);
    n += 4;
    code[n++] = 0xe9;                               /* jmp rel32 */
    rel = entry - (gpa + (uint32_t)n + 4);
    memcpy(code + n, &(uint32_t){ GUINT32_TO_LE(rel) }, 4);
    return n + 4;
}

void pc_bios_state_setup(void)
{
    if (bios_write_ivt() < 0) {
        /* A PC always has RAM below 1 MiB; say so if it does not. */
        warn_report("pc: the real-mode vector table does not fit in guest RAM");
    }
}

/* Only a 32-bit flat protected-mode entry without paging (Multiboot's,
 * 3.2) can go through the 32-bit stub. */
static bool bios_entry_is_flat32(const struct x86_cpu_state *s)
{
    const struct x86_segment *cs = &s->seg[S_CS];

    return (s->cr0 & CR0_PE) && !(s->cr0 & CR0_PG) && !(s->efer & EFER_LMA) &&
           cs->db && !cs->l && cs->base == 0 && cs->limit == 0xffffffffu &&
           s->rip <= 0xffffffffull;
}

void pc_bios_kernel_loaded(struct machine *m)
{
    struct x86_cpu_state *s = &m->boot_state;
    uint32_t gpa = BIOS_BASE + OFF_BOOT_STUB;
    uint8_t code[STUB_MAX];
    size_t n;

    if (!m->has_boot_state || !bios_entry_is_flat32(s)) {
        return;
    }
    n = bios_build_stub(code, gpa, (uint32_t)s->regs[R_EAX], (uint32_t)s->rip);
    if (ram_write(gpa, code, n) < 0) {
        warn_report("pc: no RAM for the boot stub; the i8259 and i8254 start unprogrammed");
        return;
    }
    s->rip = gpa;
}
