/*
 * virtio-blk-pci fed malformed descriptor chains (virtio 1.2 section 2.7).
 *
 * Run on -M pc with "-device virtio-blk-pci,drive=d0,disable-modern=on"
 * (the legacy interface through the I/O BAR, section 4.1.4.8) or
 * "disable-legacy=on" (the modern capabilities, section 4.1.4), over a raw
 * image whose byte at offset o is img_byte(o) (test-guests.c writes it).
 *
 * Each case starts from a reset device with one queue in our RAM, checks
 * that a good read of sector 0 works, then hands the device one malformed
 * chain followed by a good one and kicks.  The device must then:
 *   - not put anything in the used ring (neither the bad chain nor the good
 *     one behind it: a broken device stops, section 2.1.2);
 *   - for a modern driver, show DEVICE_NEEDS_RESET (0x40) in its status;
 *   - not write outside the buffers we gave it: canaries after the used
 *     ring, around the buffers and in the low page that an address wrapping
 *     past 2^64 (or truncated to 32 bits) reaches must be untouched;
 *   - after a reset and a new initialization, read sector 0 correctly.
 * That the host does not crash shows as this guest reaching its summary.
 *
 * "qemu=1" on the command line: the cases where QEMU 7.2 behaves otherwise
 * (see cases[]) are reported as skipped with what QEMU does, as in
 *   qemu-system-x86_64 -accel tcg -M pc -nographic -kernel virtio-bad.elf
 *     -device isa-debug-exit,iobase=0xf4,iosize=0x04 -append qemu=1
 *     -device virtio-blk-pci,drive=d0,disable-modern=on
 *     -drive if=none,id=d0,file=IMG,format=raw
 * Exit code 0 when no case failed, else the number of failures.
 *
 * One vCPU, interrupts off: completions are found by polling the used ring,
 * time is the ACPI PM timer of -M pc.
 */
#include "guest.h"

#define CFG_ADDR 0xcf8
#define CFG_DATA 0xcfc
#define PM_TMR 0x608
#define PM_HZ 3579545u

#define VIRTIO_VENDOR 0x1af4
#define VIRTIO_BLK_LEGACY 0x1001     /* transitional device ID (section 4.1.2.1) */
#define VIRTIO_BLK_MODERN 0x1042     /* 0x1040 + device ID 2 */

/* Status bits (section 2.1). */
#define S_ACK 1
#define S_DRIVER 2
#define S_DRIVER_OK 4
#define S_FEATURES_OK 8
#define S_NEEDS_RESET 0x40

#define F_INDIRECT_DESC 28
#define F_VERSION_1 32               /* bit 0 of the second feature word */

#define D_NEXT 1
#define D_WRITE 2
#define D_INDIRECT 4

/* Legacy I/O BAR registers (section 4.1.4.8); config follows at 20 without MSI-X. */
#define L_HOST_FEATURES 0
#define L_GUEST_FEATURES 4
#define L_QUEUE_PFN 8
#define L_QUEUE_NUM 12
#define L_QUEUE_SEL 14
#define L_QUEUE_NOTIFY 16
#define L_STATUS 18
#define L_ISR 19

/* virtio_pci_common_cfg (section 4.1.4.3). */
#define C_DFSELECT 0
#define C_DF 4
#define C_GFSELECT 8
#define C_GF 12
#define C_STATUS 20
#define C_Q_SELECT 22
#define C_Q_SIZE 24
#define C_Q_ENABLE 28
#define C_Q_NOTIFY_OFF 30
#define C_Q_DESC 32
#define C_Q_DRIVER 40
#define C_Q_DEVICE 48

/*
 * Guest-physical layout (identity mapped, paging off; the guest itself
 * sits at 1 MiB).  The ring area takes a queue of up to 1024 entries in
 * the legacy layout (used ring on the next 4 KiB boundary); the 4 KiB after
 * the used ring are canary.
 */
#define RING_BASE 0x400000u
#define MAX_QUEUE 1024u
#define ITABLE 0x410000u             /* indirect tables: up to 0x418000 */
#define ITABLE2 0x418000u
#define ITABLE_END 0x420000u
#define HDR 0x420000u                /* two request headers of 16 bytes */
#define STATUS 0x420100u             /* two status bytes */
#define BUF_GUARD 0x420200u          /* canary up to DATA */
#define DATA 0x421000u               /* 8 KiB of data buffer */
#define DATA_LEN 0x2000u
#define DATA_GUARD 0x423000u         /* canary up to 0x424000 */
#define DATA_GUARD_END 0x424000u
#define LOW_GUARD_END 0x1000u        /* where a wrapped address lands: canary */
#define USED_GUARD 0x1000u           /* canary after the used ring */
#define CANARY 0xa5a5a5a5u

struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
} __attribute__((packed));

struct blk_req {
    uint32_t type, reserved;
    uint64_t sector;
} __attribute__((packed));

/* ---- the image's contents (test-guests.c writes the same) ---- */
static uint8_t img_byte(uint32_t off)
{
    return (uint8_t)(off * 7 + (off >> 9) * 31 + 0x5a);
}

/* ---- time ---- */
static uint32_t pm_now(void)
{
    return inl(PM_TMR) & 0xffffff;
}

/* Milliseconds since t0, for waits shorter than the 24-bit timer's 4.6 s wrap. */
static uint32_t ms_since(uint32_t t0)
{
    return ((pm_now() - t0) & 0xffffff) / (PM_HZ / 1000);
}

/* ---- PCI configuration mechanism #1 ---- */
static uint32_t cfg_rd32(unsigned devfn, unsigned reg)
{
    outl(CFG_ADDR, 0x80000000u | devfn << 8 | (reg & ~3u));
    return inl(CFG_DATA);
}

static uint8_t cfg_rd8(unsigned devfn, unsigned reg)
{
    return cfg_rd32(devfn, reg) >> ((reg & 3) * 8);
}

static void cfg_wr32(unsigned devfn, unsigned reg, uint32_t v)
{
    outl(CFG_ADDR, 0x80000000u | devfn << 8 | reg);
    outl(CFG_DATA, v);
}

/*
 * Fills and compares guest memory a dword at a time with string
 * instructions: a KVM without hardware virtualization behind it runs
 * byte loops in this guest very slowly.  Sizes are multiples of 4.
 */
static void fill32(uint32_t addr, uint32_t v, uint32_t bytes)
{
    uint32_t d = addr, n = bytes / 4;

    __asm__ volatile("rep stosl" : "+D"(d), "+c"(n) : "a"(v) : "memory");
}

/* A dword at physical address a (0 included: the compiler never sees it). */
static uint32_t peek32(uint32_t a)
{
    uint32_t v;

    __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(a) : "memory");
    return v;
}

/* One more than the address of the first dword in [addr, addr + bytes)
 * that is not v; 0 when all are. */
static uint32_t find_not32(uint32_t addr, uint32_t v, uint32_t bytes)
{
    uint32_t d = addr, n = bytes / 4;

    if (!n) {
        return 0;
    }
    __asm__ volatile("repe scasl" : "+D"(d), "+c"(n) : "a"(v) : "memory", "cc");
    /* EDI is past the dword that ended the scan. */
    return peek32(d - 4) != v ? d - 3 : 0;
}

/* ---- MMIO ---- */
static uint8_t rd8(uintptr_t a) { return *(volatile uint8_t *)a; }
static uint16_t rd16(uintptr_t a) { return *(volatile uint16_t *)a; }
static uint32_t rd32(uintptr_t a) { return *(volatile uint32_t *)a; }
static void wr8(uintptr_t a, uint8_t v) { *(volatile uint8_t *)a = v; }
static void wr16(uintptr_t a, uint16_t v) { *(volatile uint16_t *)a = v; }
static void wr32(uintptr_t a, uint32_t v) { *(volatile uint32_t *)a = v; }

static void barrier(void)
{
    __asm__ volatile("mfence" : : : "memory");
}

/* ---- the transport: legacy I/O BAR or modern capabilities ---- */
static struct {
    unsigned devfn;
    int modern;
    uint16_t io;                 /* legacy */
    uintptr_t common, notify, isr;
    uint32_t notify_mult;
    uint16_t notify_off;
} dev;

static struct {
    uint16_t num;
    volatile struct vdesc *desc;
    volatile uint16_t *avail;    /* flags, idx, ring[num] */
    volatile uint16_t *used;     /* flags, idx, then {u32 id, u32 len}[num] */
    uint64_t base;               /* guest-physical address of desc; the rest follows */
    uint16_t avail_idx;          /* what we published */
} vq;

/* Where the next initialization puts the rings, and the features it acks. */
static uint64_t ring_base = RING_BASE;
static int ack_indirect = 1;

static int quirks;
static uint32_t ram_end;         /* from the Multiboot memory information */

static uint8_t get_status(void)
{
    return dev.modern ? rd8(dev.common + C_STATUS) : inb(dev.io + L_STATUS);
}

static void set_status(uint8_t s)
{
    if (dev.modern) {
        wr8(dev.common + C_STATUS, s);
    } else {
        outb(dev.io + L_STATUS, s);
    }
}

static void kick(void)
{
    barrier();
    if (dev.modern) {
        wr16(dev.notify + (uint32_t)dev.notify_off * dev.notify_mult, 0);
    } else {
        outw(dev.io + L_QUEUE_NOTIFY, 0);
    }
}

/* Reading the ISR acknowledges it and lowers INTx (section 4.1.4.5). */
static void ack_isr(void)
{
    if (dev.modern) {
        (void)rd8(dev.isr);
    } else {
        (void)inb(dev.io + L_ISR);
    }
}

static uint16_t used_idx(void)
{
    return vq.used[1];
}

static uint32_t used_id(unsigned slot)
{
    return *(volatile uint32_t *)((uintptr_t)vq.used + 4 + 8 * (slot % vq.num));
}

static uint32_t used_len(unsigned slot)
{
    return *(volatile uint32_t *)((uintptr_t)vq.used + 8 + 8 * (slot % vq.num));
}

/* Where the canary after the used ring starts: its end, dword-aligned. */
static uint32_t used_ring_guard(void)
{
    return ((uint32_t)(uintptr_t)vq.used + 6 + 8 * vq.num + 3) & ~3u;
}

/*
 * A memory BAR's address below 4 GiB; a 64-bit BAR left above 4 GiB or
 * unassigned by the firmware gets one of ours (we run without paging).
 */
static uintptr_t mem_bar(unsigned bar)
{
    unsigned reg = 0x10 + 4 * bar;
    uint32_t lo = cfg_rd32(dev.devfn, reg);
    int is64 = (lo & 6) == 4;
    uint32_t hi = is64 ? cfg_rd32(dev.devfn, reg + 4) : 0;

    if (hi || !(lo & ~0xfu)) {
        cfg_wr32(dev.devfn, reg, 0xe0000000u + bar * 0x100000u);
        if (is64) {
            cfg_wr32(dev.devfn, reg + 4, 0);
        }
        lo = cfg_rd32(dev.devfn, reg);
    }
    return lo & ~0xfu;
}

/* The virtio vendor capabilities (section 4.1.4): 0 when one is missing. */
static int find_modern_caps(void)
{
    unsigned found = 0;

    if (!(cfg_rd32(dev.devfn, 0x04) & (1u << 20))) {
        return 0;
    }
    for (unsigned p = cfg_rd8(dev.devfn, 0x34) & ~3u, n = 0; p && n < 48;
         p = cfg_rd8(dev.devfn, p + 1) & ~3u, n++) {
        unsigned type = cfg_rd8(dev.devfn, p + 3);
        uintptr_t at;

        if (cfg_rd8(dev.devfn, p) != 0x09 || type < 1 || type > 3) {
            continue;
        }
        at = mem_bar(cfg_rd8(dev.devfn, p + 4)) + cfg_rd32(dev.devfn, p + 8);
        if (type == 1) {
            dev.common = at;
        } else if (type == 2) {
            dev.notify = at;
            dev.notify_mult = cfg_rd32(dev.devfn, p + 16);
        } else {
            dev.isr = at;
        }
        found |= 1u << type;
    }
    return found == 0xe;
}

static int find_device(void)
{
    for (unsigned devfn = 0; devfn < 256; devfn++) {
        uint32_t id = cfg_rd32(devfn, 0);

        if ((id & 0xffff) != VIRTIO_VENDOR) {
            continue;
        }
        if (id >> 16 == VIRTIO_BLK_LEGACY || id >> 16 == VIRTIO_BLK_MODERN) {
            dev.devfn = devfn;
            dev.modern = id >> 16 == VIRTIO_BLK_MODERN;
            /* I/O and memory decoding, bus mastering (the device's DMA). */
            cfg_wr32(devfn, 0x04, (cfg_rd32(devfn, 0x04) & 0xffff) | 7);
            if (dev.modern) {
                return find_modern_caps();
            }
            dev.io = cfg_rd32(devfn, 0x10) & ~3u;
            return dev.io != 0;
        }
    }
    return 0;
}

/* Status 0, and (section 4.1.4.3.2) wait until it reads back 0. */
static int dev_reset(void)
{
    uint32_t t0 = pm_now();

    set_status(0);
    while (get_status() != 0) {
        if (ms_since(t0) > 1000) {
            return 0;
        }
    }
    ack_isr();
    return 1;
}

/* Offset of the used ring from the descriptors in the legacy layout. */
static uint32_t used_offset(uint16_t num)
{
    return (16 * num + 6 + 2 * num + 4095) & ~4095u;
}

/*
 * The rings at ring_base, zeroed, with canary in the 4 KiB after the used
 * ring.  A queue moved elsewhere (the cases that put the rings outside
 * RAM) gets only what lies in RAM zeroed and no canary.
 */
static void ring_layout(uint16_t num)
{
    uint32_t base = (uint32_t)ring_base;

    vq.num = num;
    vq.base = ring_base;
    vq.desc = (volatile struct vdesc *)base;
    vq.avail = (volatile uint16_t *)(base + 16 * num);
    vq.used = (volatile uint16_t *)(base + used_offset(num));
    vq.avail_idx = 0;
    if (ring_base == RING_BASE) {
        fill32(RING_BASE, 0, used_ring_guard() - RING_BASE);
        fill32(used_ring_guard(), CANARY, USED_GUARD);
    } else if (ring_base + used_offset(num) <= ram_end) {
        fill32(base, 0, used_offset(num));
    }
}

static int init_legacy(void)
{
    uint16_t num;

    set_status(S_ACK | S_DRIVER);
    outl(dev.io + L_GUEST_FEATURES,
         inl(dev.io + L_HOST_FEATURES) & ((uint32_t)ack_indirect << F_INDIRECT_DESC));
    outw(dev.io + L_QUEUE_SEL, 0);
    num = inw(dev.io + L_QUEUE_NUM);
    if (!num || num > MAX_QUEUE) {
        printf("virtio-bad: legacy queue 0 has %u entries\n", num);
        return 0;
    }
    ring_layout(num);
    outl(dev.io + L_QUEUE_PFN, vq.base >> 12);
    set_status(S_ACK | S_DRIVER | S_DRIVER_OK);
    return 1;
}

static void wr64(uintptr_t a, uint64_t v)
{
    wr32(a, (uint32_t)v);
    wr32(a + 4, v >> 32);
}

static int init_modern(void)
{
    uint32_t f0, f1;
    uint16_t num;

    set_status(S_ACK | S_DRIVER);
    wr32(dev.common + C_DFSELECT, 0);
    f0 = rd32(dev.common + C_DF);
    wr32(dev.common + C_DFSELECT, 1);
    f1 = rd32(dev.common + C_DF);
    if (!(f1 & 1)) {
        printf("virtio-bad: the modern device does not offer VERSION_1\n");
        return 0;
    }
    wr32(dev.common + C_GFSELECT, 0);
    wr32(dev.common + C_GF, f0 & ((uint32_t)ack_indirect << F_INDIRECT_DESC));
    wr32(dev.common + C_GFSELECT, 1);
    wr32(dev.common + C_GF, 1);
    set_status(S_ACK | S_DRIVER | S_FEATURES_OK);
    if (!(get_status() & S_FEATURES_OK)) {
        printf("virtio-bad: FEATURES_OK refused\n");
        return 0;
    }
    wr16(dev.common + C_Q_SELECT, 0);
    num = rd16(dev.common + C_Q_SIZE);
    if (!num || num > MAX_QUEUE) {
        printf("virtio-bad: modern queue 0 has %u entries\n", num);
        return 0;
    }
    ring_layout(num);
    wr64(dev.common + C_Q_DESC, vq.base);
    wr64(dev.common + C_Q_DRIVER, vq.base + 16 * num);
    wr64(dev.common + C_Q_DEVICE, vq.base + used_offset(num));
    dev.notify_off = rd16(dev.common + C_Q_NOTIFY_OFF);
    wr16(dev.common + C_Q_ENABLE, 1);
    set_status(S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    return 1;
}

static int dev_init(void)
{
    if (!dev_reset()) {
        printf("virtio-bad: status does not read 0 after a reset\n");
        return 0;
    }
    return dev.modern ? init_modern() : init_legacy();
}

/* ---- requests ---- */
static void set_desc(unsigned i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    vq.desc[i].addr = addr;
    vq.desc[i].len = len;
    vq.desc[i].flags = flags;
    vq.desc[i].next = next;
}

/* A read of one sector into DATA as descriptors d, d+1, d+2; slot 0 or 1 of
 * the header and status areas. */
static void good_chain(unsigned d, unsigned slot, uint32_t sector)
{
    volatile struct blk_req *h = (volatile struct blk_req *)(HDR + 16 * slot);

    h->type = 0;             /* VIRTIO_BLK_T_IN */
    h->reserved = 0;
    h->sector = sector;
    *(volatile uint8_t *)(STATUS + slot) = 0xff;
    set_desc(d, HDR + 16 * slot, 16, D_NEXT, d + 1);
    set_desc(d + 1, DATA, 512, D_NEXT | D_WRITE, d + 2);
    set_desc(d + 2, STATUS + slot, 1, D_WRITE, 0);
}

/* Publishes head in the next available slot (section 2.7.13). */
static void post(uint16_t head)
{
    vq.avail[2 + vq.avail_idx % vq.num] = head;
    barrier();
    vq.avail_idx++;
    vq.avail[1] = vq.avail_idx;
}

static int wait_used(uint16_t want, uint32_t ms)
{
    uint32_t t0 = pm_now();

    while ((uint16_t)(used_idx() - want) > 0x8000u) {
        if (ms_since(t0) > ms) {
            return 0;
        }
    }
    ack_isr();
    return 1;
}

/* A read of sector 0 through descriptors 0..2: 1 when the data and status are right. */
static int good_read(const char *when)
{
    uint16_t before = used_idx();

    memset((void *)DATA, 0, 512);
    good_chain(0, 0, 0);
    post(0);
    kick();
    if (!wait_used(before + 1, 5000)) {
        printf("virtio-bad: %s: no completion of a good read\n", when);
        return 0;
    }
    if (used_id(before) != 0 || used_len(before) < 513 || *(volatile uint8_t *)STATUS != 0) {
        printf("virtio-bad: %s: good read completed with id %u len %u status %u\n", when,
               used_id(before), used_len(before), *(volatile uint8_t *)STATUS);
        return 0;
    }
    for (uint32_t i = 0; i < 512; i++) {
        if (((volatile uint8_t *)DATA)[i] != img_byte(i)) {
            printf("virtio-bad: %s: byte %u of sector 0 reads %x, not %x\n", when, i,
                   ((volatile uint8_t *)DATA)[i], img_byte(i));
            return 0;
        }
    }
    return 1;
}

/* ---- canaries ---- */

static void guards_set(void)
{
    fill32(0, CANARY, LOW_GUARD_END);
    fill32(BUF_GUARD, CANARY, DATA - BUF_GUARD);
    fill32(DATA_GUARD, CANARY, DATA_GUARD_END - DATA_GUARD);
}

/* One more than the address of the first dword that changed; 0 when all are intact. */
static uint32_t guards_check(void)
{
    static const struct { uint32_t from, len; } g[] = {
        { 0, LOW_GUARD_END },
        { BUF_GUARD, DATA - BUF_GUARD },
        { DATA_GUARD, DATA_GUARD_END - DATA_GUARD },
    };
    uint32_t at;

    for (unsigned i = 0; i < sizeof(g) / sizeof(g[0]); i++) {
        if ((at = find_not32(g[i].from, CANARY, g[i].len))) {
            return at;
        }
    }
    /* A queue moved out of our ring area has no canary after it. */
    return vq.base == RING_BASE ? find_not32(used_ring_guard(), CANARY, USED_GUARD) : 0;
}

/* ---- the malformed chains ---- */

/*
 * Each setup writes descriptors from index 4 up and posts the bad chain; it
 * returns 1 when run_case() may post the good chain in the last three
 * descriptors behind it, 0 when the descriptors are all taken or the
 * available ring itself is what is broken, MOVED when it moved the queue
 * (judge_moved()), -1 when the device did not come up for it.
 */
static int bad_head(void)
{
    post(vq.num);
    return 1;
}

static int bad_head_ffff(void)
{
    post(0xffff);
    return 1;
}

static int bad_next(void)
{
    good_chain(4, 1, 0);
    vq.desc[5].next = vq.num;
    post(4);
    return 1;
}

static int two_loop(void)
{
    set_desc(4, HDR + 16, 16, D_NEXT, 5);
    set_desc(5, HDR + 16, 16, D_NEXT, 4);
    post(4);
    return 1;
}

/* Every descriptor in one chain, the last leading back to the first: the
 * chain is longer than the queue. */
static int full_cycle(void)
{
    for (unsigned i = 0; i < vq.num; i++) {
        set_desc(i, HDR + 16, 16, D_NEXT, (i + 1) % vq.num);
    }
    post(0);
    return 0;
}

static void header_slot1(uint32_t type, uint32_t sector)
{
    volatile struct blk_req *h = (volatile struct blk_req *)(HDR + 16);

    h->type = type;
    h->reserved = 0;
    h->sector = sector;
    *(volatile uint8_t *)(STATUS + 1) = 0xff;
}

/* A read whose data buffer is [addr, addr + len). */
static int read_into(uint64_t addr, uint32_t len)
{
    header_slot1(0, 0);
    set_desc(4, HDR + 16, 16, D_NEXT, 5);
    set_desc(5, addr, len, D_NEXT | D_WRITE, 6);
    set_desc(6, STATUS + 1, 1, D_WRITE, 0);
    post(4);
    return 1;
}

static int above_ram(void) { return read_into(0x100000000ull + 0x10000000ull, 512); }
static int beyond_phys(void) { return read_into(0xfff0000000000000ull, 512); }
static int at_top_4g(void) { return read_into(0xfffff000u, 512); }
static int wrap64(void) { return read_into(0xfffffffffffff000ull, 0x2000); }
static int wrap32(void) { return read_into(0xfffff000u, 0x2000); }
static int past_ram_end(void) { return read_into(ram_end - 0x1000, 0x2000); }
static int huge_len(void) { return read_into(DATA, 0xffffffffu); }

/* The request header outside RAM: the device would read it from there. */
static int header_above_ram(void)
{
    set_desc(4, 0x100000000ull + 0x10000000ull, 16, D_NEXT, 5);
    set_desc(5, DATA, 512, D_NEXT | D_WRITE, 6);
    set_desc(6, STATUS + 1, 1, D_WRITE, 0);
    post(4);
    return 1;
}

/* An indirect table of n entries at ITABLE: header, data..., status. */
static void itable_fill(volatile struct vdesc *t, unsigned n)
{
    header_slot1(0, 0);
    t[0] = (struct vdesc){ HDR + 16, 16, D_NEXT, 1 };
    for (unsigned i = 1; i + 1 < n; i++) {
        t[i] = (struct vdesc){ DATA, 512, D_NEXT | D_WRITE, i + 1 };
    }
    t[n - 1] = (struct vdesc){ STATUS + 1, 1, D_WRITE, 0 };
}

static int indirect_len(uint32_t len)
{
    itable_fill((volatile struct vdesc *)ITABLE, 3);
    set_desc(4, ITABLE, len, D_INDIRECT, 0);
    post(4);
    return 1;
}

static int indirect_len17(void) { return indirect_len(17); }
static int indirect_len0(void) { return indirect_len(0); }
static int indirect_len8(void) { return indirect_len(8); }

static int indirect_nested(void)
{
    volatile struct vdesc *t = (volatile struct vdesc *)ITABLE;

    itable_fill((volatile struct vdesc *)ITABLE2, 3);
    t[0] = (struct vdesc){ ITABLE2, 48, D_INDIRECT, 0 };
    set_desc(4, ITABLE, 16, D_INDIRECT, 0);
    post(4);
    return 1;
}

static int indirect_next_out(void)
{
    volatile struct vdesc *t = (volatile struct vdesc *)ITABLE;

    itable_fill(t, 3);
    t[1].next = 3;
    set_desc(4, ITABLE, 48, D_INDIRECT, 0);
    post(4);
    return 1;
}

static int indirect_loop(void)
{
    volatile struct vdesc *t = (volatile struct vdesc *)ITABLE;

    itable_fill(t, 3);
    t[1] = t[0];
    t[1].next = 0;
    set_desc(4, ITABLE, 48, D_INDIRECT, 0);
    post(4);
    return 1;
}

/* More entries than any queue may have (VIRTQUEUE_MAX_SIZE, 1024). */
static int indirect_too_long(void)
{
    unsigned n = (ITABLE_END - ITABLE) / 16;     /* 2048 */

    itable_fill((volatile struct vdesc *)ITABLE, n);
    set_desc(4, ITABLE, n * 16, D_INDIRECT, 0);
    post(4);
    return 1;
}

static int indirect_table_outside(void)
{
    set_desc(4, 0x100000000ull + 0x10000000ull, 48, D_INDIRECT, 0);
    post(4);
    return 1;
}

/* A device-readable descriptor after a device-writable one (section 2.7.4.2). */
static int read_after_write(void)
{
    header_slot1(0, 0);
    set_desc(4, HDR + 16, 16, D_NEXT, 5);
    set_desc(5, DATA, 512, D_NEXT | D_WRITE, 6);
    set_desc(6, HDR + 16, 16, D_NEXT, 7);
    set_desc(7, STATUS + 1, 1, D_WRITE, 0);
    post(4);
    return 1;
}

/* Section 2.7.5.3.1: INDIRECT and NEXT together. */
static int indirect_and_next(void)
{
    itable_fill((volatile struct vdesc *)ITABLE, 3);
    set_desc(4, ITABLE, 48, D_INDIRECT | D_NEXT, 5);
    set_desc(5, HDR + 16, 16, 0, 0);
    post(4);
    return 1;
}

/* Section 2.7.5.3.1: an indirect table when INDIRECT_DESC was not acked. */
static int indirect_not_acked(void)
{
    ack_indirect = 0;
    if (!dev_init() || !good_read("without INDIRECT_DESC")) {
        ack_indirect = 1;
        return -1;
    }
    ack_indirect = 1;
    guards_set();
    return indirect_len(48);
}

#define MOVED 2    /* setup's answer: the queue now lies elsewhere */

/*
 * The queue set up again with its rings at base and a good read posted
 * there when its rings are in RAM.  The device must not serve a queue
 * whose rings are not all in RAM (section 2.7: they are guest memory).
 */
static int ring_moved(uint64_t base)
{
    ring_base = base;
    if (!dev_init()) {
        ring_base = RING_BASE;
        return -1;
    }
    ring_base = RING_BASE;
    fill32(DATA, CANARY, DATA_LEN);
    if (vq.base + used_offset(vq.num) <= ram_end) {
        good_chain(0, 0, 0);
        post(0);
    }
    return MOVED;
}

/* Descriptors and available ring in the last pages of RAM, the used ring just past them. */
static int used_past_ram(void) { return ring_moved(ram_end - used_offset(vq.num)); }
static int rings_above_ram(void) { return ring_moved(0x110000000ull); }

/* The available index more than a queue's worth ahead (section 2.7.6). */
static int avail_jump(void)
{
    good_chain(4, 1, 0);
    for (unsigned i = 0; i < vq.num; i++) {
        vq.avail[2 + i] = 4;
    }
    vq.avail_idx += vq.num + 1;
    barrier();
    vq.avail[1] = vq.avail_idx;
    return 0;
}

/*
 * QEMU 7.2 maps a buffer outside RAM (unassigned space, ROM, the part past
 * RAM's end, a wrap past 2^64) through its one-page bounce buffer, and the
 * request completes: reads from it see the unassigned value, writes to it
 * are dropped.  It fails only a buffer that needs the bounce buffer for
 * more than one page.
 */
#define QEMU_BOUNCE "maps it through its bounce buffer and completes the request"

struct bad_case {
    const char *name;
    int (*setup)(void);
    const char *qemu;    /* what QEMU 7.2 does instead, or NULL */
};

static const struct bad_case cases[] = {
    { "head index = queue size", bad_head, NULL },
    { "head index 0xffff", bad_head_ffff, NULL },
    { "next = queue size", bad_next, NULL },
    { "loop a->b->a", two_loop, NULL },
    { "chain through every descriptor and back", full_cycle, NULL },
    { "data buffer above RAM", above_ram, QEMU_BOUNCE },
    { "data buffer at 0xfff0000000000000", beyond_phys, QEMU_BOUNCE },
    { "data buffer at 0xfffff000", at_top_4g, QEMU_BOUNCE },
    { "header above RAM", header_above_ram, QEMU_BOUNCE },
    { "buffer wraps past 2^64", wrap64,
      "wraps the address and writes the buffer's second page at guest address 0" },
    { "buffer from 0xfffff000 across 4 GiB", wrap32, NULL },
    { "buffer across the end of RAM", past_ram_end, QEMU_BOUNCE },
    { "buffer of 4 GiB - 1", huge_len, NULL },
    { "indirect table of 17 bytes", indirect_len17, NULL },
    { "indirect table of 0 bytes", indirect_len0, NULL },
    { "indirect table of 8 bytes", indirect_len8, NULL },
    { "nested indirect descriptor", indirect_nested, NULL },
    { "indirect next past the table", indirect_next_out, NULL },
    { "indirect loop", indirect_loop, NULL },
    { "indirect table of 2048 entries", indirect_too_long, NULL },
    { "indirect table above RAM", indirect_table_outside, NULL },
    { "readable descriptor after a writable one", read_after_write, NULL },
    { "avail idx a queue size + 1 ahead", avail_jump, NULL },
    { "indirect descriptor with NEXT", indirect_and_next,
      "ignores NEXT on an indirect descriptor and serves the table" },
    { "indirect table without INDIRECT_DESC", indirect_not_acked,
      "serves indirect tables whatever the driver acked" },
    { "used ring just past the end of RAM", used_past_ram,
      "serves the queue and drops its used-ring writes" },
    { "rings above RAM", rings_above_ram,
      "takes the rings without an error; its available ring reads as empty" },
};

static unsigned passed, failed, skipped;
static const char *mode;

/* The good chain posted behind the bad one: the last three descriptors. */
static unsigned follow_head(void)
{
    return vq.num - 3;
}

/*
 * Gives the device time to handle the kick (under KVM it may do so on
 * another thread): until DEVICE_NEEDS_RESET shows for a modern driver,
 * then a while longer for a used entry that should not come.
 */
static void settle(void)
{
    uint32_t t0 = pm_now();

    while (dev.modern && !(get_status() & S_NEEDS_RESET) && ms_since(t0) < 1000) {
    }
    t0 = pm_now();
    while (ms_since(t0) < (dev.modern ? 20 : 100)) {
    }
}

/* What went wrong, or NULL: the device's reaction to the bad chain.  A
 * write outside the buffers is the worst and is named first. */
static const char *judge(uint16_t before)
{
    const char *err = NULL;
    uint8_t st = get_status();
    uint32_t at;

    if (used_idx() != before) {
        err = "the device skipped the bad chain and went on";
        for (uint16_t i = before; i != used_idx() && (uint16_t)(i - before) < vq.num; i++) {
            printf("virtio-bad: %s: used entry %u: id %u len %u\n", mode, i, used_id(i),
                   used_len(i));
            if (used_id(i) != follow_head()) {
                err = "the device used the bad chain";
            }
        }
    }
    if ((at = guards_check())) {
        printf("virtio-bad: %s: canary dword at %x is %x\n", mode, at - 1,
               peek32(at - 1));
        return "the device wrote outside the buffers";
    }
    if (!err && dev.modern && !(st & S_NEEDS_RESET)) {
        printf("virtio-bad: %s: status %x\n", mode, st);
        err = "no DEVICE_NEEDS_RESET";
    }
    return err;
}

/* The same for a queue moved outside RAM, whose used ring we cannot read:
 * the read posted there must not have reached the data buffer. */
static const char *judge_moved(void)
{
    uint8_t st = get_status();
    uint32_t at;

    if ((at = find_not32(DATA, CANARY, DATA_LEN))) {
        printf("virtio-bad: %s: data dword at %x is %x\n", mode, at - 1, peek32(at - 1));
        return "the device served a queue outside RAM";
    }
    if ((at = guards_check())) {
        printf("virtio-bad: %s: canary dword at %x is %x\n", mode, at - 1, peek32(at - 1));
        return "the device wrote outside the buffers";
    }
    if (dev.modern && !(st & S_NEEDS_RESET)) {
        printf("virtio-bad: %s: status %x\n", mode, st);
        return "no DEVICE_NEEDS_RESET";
    }
    return NULL;
}

static void report(const struct bad_case *c, const char *err)
{
    if (!err) {
        passed++;
        printf("virtio-bad: PASS: %s: %s\n", mode, c->name);
    } else if (quirks && c->qemu) {
        skipped++;
        printf("virtio-bad: SKIP: %s: %s: %s (QEMU: %s)\n", mode, c->name, err, c->qemu);
    } else {
        failed++;
        printf("virtio-bad: FAIL: %s: %s: %s\n", mode, c->name, err);
    }
}

static void run_case(const struct bad_case *c)
{
    const char *err = NULL;
    uint16_t before;
    int rc;

    if (!dev_init() || !good_read("before the bad chain")) {
        report(c, "no good read before the bad chain");
        return;
    }
    guards_set();
    rc = c->setup();
    if (rc < 0) {
        report(c, "no good read before the bad chain");
        return;
    }
    if (rc == 1) {
        good_chain(follow_head(), 0, 0);
        post(follow_head());
    }
    /* The device takes chains at the kick: the used index before it. */
    before = rc == MOVED ? 0 : used_idx();
    kick();
    settle();
    err = rc == MOVED ? judge_moved() : judge(before);
    if (!err && !(dev_init() && good_read("after a reset"))) {
        err = "no good read after a reset";
    }
    report(c, err);
}

int main(const struct mb_info *mbi)
{
    char buf[16];

    if (mb_cmdline_arg(mbi, "qemu", buf, sizeof(buf))) {
        quirks = buf[0] == '1';
    }
    ram_end = (mbi->flags & MB_INFO_MEM) ? (mbi->mem_upper + 1024) * 1024 : 0x8000000u;
    if (!find_device()) {
        printf("virtio-bad: no virtio-blk-pci device\n");
        return 0x70;
    }
    mode = dev.modern ? "modern" : "legacy";
    printf("virtio-bad: %s virtio-blk-pci at %02x.%x\n", mode, dev.devfn >> 3, dev.devfn & 7);
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        run_case(&cases[i]);
    }
    /* The last case's device, reset and used once more. */
    if (!dev_init() || !good_read("at the end")) {
        failed++;
    }
    printf("virtio-bad: %s: %u passed, %u failed, %u skipped\n", mode, passed, failed, skipped);
    return failed;
}
