/*
 * The runtime of hyvm's test guests: freestanding 32-bit code started by a
 * Multiboot loader (entry.S), talking over COM1 and leaving through
 * isa-debug-exit.  A guest defines main(); its return value is the exit
 * code.  With "-device isa-debug-exit,iobase=0xf4,iosize=0x04" the VMM then
 * exits with status (code << 1) | 1, so 0 from main() is status 1.
 *
 * One vCPU, interrupts off, no IDT: a guest must not fault.
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* The Multiboot information structure (spec 0.6.96, 3.3), as far as we read it. */
struct mb_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
} __attribute__((packed));

#define MB_INFO_MEM (1u << 0)
#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MODS (1u << 3)
#define MB_INFO_MMAP (1u << 6)
#define MB_INFO_LOADER_NAME (1u << 9)

/* A memory map entry; "size" does not count itself. */
struct mb_mmap_entry {
    uint32_t size;
    uint64_t base, len;
    uint32_t type;
} __attribute__((packed));

#define MB_BOOTLOADER_MAGIC 0x2BADB002u

/* Exit codes the runtime itself uses. */
#define GUEST_EXIT_BAD_MAGIC 0x7e

int main(const struct mb_info *mbi);

/* ---- ports and memory ---- */
static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;

    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;

    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;

    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

/*
 * PCI configuration mechanism #1 (ports 0xcf8/0xcfc): the dword holding reg
 * is selected, and the access takes the bytes of it reg names.
 */
#define PCI_CFG_ADDR 0xcf8
#define PCI_CFG_DATA 0xcfc

static inline void pci_cfg_select(unsigned devfn, unsigned reg)
{
    outl(PCI_CFG_ADDR, 0x80000000u | devfn << 8 | (reg & ~3u));
}

static inline uint32_t pci_cfg_rd32(unsigned devfn, unsigned reg)
{
    pci_cfg_select(devfn, reg);
    return inl(PCI_CFG_DATA);
}

static inline uint16_t pci_cfg_rd16(unsigned devfn, unsigned reg)
{
    pci_cfg_select(devfn, reg);
    return inw(PCI_CFG_DATA + (reg & 2));
}

static inline uint8_t pci_cfg_rd8(unsigned devfn, unsigned reg)
{
    pci_cfg_select(devfn, reg);
    return inb(PCI_CFG_DATA + (reg & 3));
}

static inline void pci_cfg_wr32(unsigned devfn, unsigned reg, uint32_t v)
{
    pci_cfg_select(devfn, reg);
    outl(PCI_CFG_DATA, v);
}

static inline void pci_cfg_wr16(unsigned devfn, unsigned reg, uint16_t v)
{
    pci_cfg_select(devfn, reg);
    outw(PCI_CFG_DATA + (reg & 2), v);
}

static inline void pci_cfg_wr8(unsigned devfn, unsigned reg, uint8_t v)
{
    pci_cfg_select(devfn, reg);
    outb(PCI_CFG_DATA + (reg & 3), v);
}

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);

/* ---- output and exit ---- */
void putchar(int c);
void puts(const char *s);        /* no newline added */
/* %c %s %d %u %x %p, with l/ll, a width and '0' padding. */
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vprintf(const char *fmt, va_list ap);
__attribute__((noreturn)) void exit(int code);

/* The value of "key=..." on the kernel command line after the kernel path,
 * copied into buf (NUL-terminated); NULL when absent. */
const char *mb_cmdline_arg(const struct mb_info *mbi, const char *key, char *buf, size_t size);
/* Decimal or 0x-hex; returns -1 on junk. */
int parse_uint(const char *s, uint32_t *v);

#endif
