/*
 * The guests' C runtime: COM1 output, printf, isa-debug-exit and the few
 * string helpers gcc may call.  Nothing here may use 64-bit division or
 * the FPU: guests link without libgcc and with general registers only.
 */
#include "guest.h"

#define COM1 0x3f8
/* 16550 registers (offsets from the base) and bits. */
#define UART_THR 0
#define UART_IER 1
#define UART_DLL 0
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_LCR_DLAB 0x80
#define UART_LCR_8N1 0x03
#define UART_LSR_THRE 0x20

#define DEBUG_EXIT_PORT 0xf4

void *memset(void *d, int c, size_t n)
{
    volatile uint8_t *p = d;   /* volatile: gcc must not turn this into a memset call */

    while (n--) {
        *p++ = c;
    }
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    volatile uint8_t *p = d;
    const uint8_t *q = s;

    while (n--) {
        *p++ = *q++;
    }
    return d;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n]) {
        n++;
    }
    return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a) {
            return (unsigned char)*a - (unsigned char)*b;
        }
    }
    return 0;
}

static void serial_init(void)
{
    outb(COM1 + UART_IER, 0);                    /* no interrupts: we poll */
    outb(COM1 + UART_LCR, UART_LCR_DLAB);
    outb(COM1 + UART_DLL, 1);                    /* 115200 baud */
    outb(COM1 + UART_DLM, 0);
    outb(COM1 + UART_LCR, UART_LCR_8N1);
    outb(COM1 + UART_FCR, 0x07);                 /* FIFOs on and cleared */
    outb(COM1 + UART_MCR, 0x03);                 /* DTR, RTS */
}

void putchar(int c)
{
    if (c == '\n') {
        putchar('\r');
    }
    /* A missing UART reads all ones, so this never spins forever. */
    while (!(inb(COM1 + UART_LSR) & UART_LSR_THRE)) {
    }
    outb(COM1 + UART_THR, c);
}

void puts(const char *s)
{
    while (*s) {
        putchar(*s++);
    }
}

/* n / 10 by shift and subtract: no __udivdi3 from libgcc. */
static uint64_t div10(uint64_t n, unsigned *rem)
{
    uint64_t q = 0, r = 0;

    for (int i = 63; i >= 0; i--) {
        r = (r << 1) | ((n >> i) & 1);
        if (r >= 10) {
            r -= 10;
            q |= 1ull << i;
        }
    }
    *rem = r;
    return q;
}

static void print_num(uint64_t v, unsigned base, int width, char pad, int neg)
{
    char buf[24];
    int n = 0;

    do {
        unsigned d;

        if (base == 16) {
            d = v & 0xf;
            v >>= 4;
        } else {
            v = div10(v, &d);
        }
        buf[n++] = "0123456789abcdef"[d];
    } while (v);
    if (neg) {
        if (pad == '0') {
            putchar('-');
        } else {
            buf[n++] = '-';
        }
        width--;
    }
    for (int i = n; i < width; i++) {
        putchar(pad);
    }
    while (n) {
        putchar(buf[--n]);
    }
}

void vprintf(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        char pad = ' ';
        int width = 0, lng = 0;
        uint64_t u;
        int64_t s;

        if (*fmt != '%') {
            putchar(*fmt);
            continue;
        }
        fmt++;
        if (*fmt == '0') {
            pad = '0';
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9') {
            width = width * 10 + (*fmt++ - '0');
        }
        while (*fmt == 'l') {
            lng++;
            fmt++;
        }
        switch (*fmt) {
        case 'c':
            putchar(va_arg(ap, int));
            break;
        case 's': {
            const char *str = va_arg(ap, const char *);

            puts(str ? str : "(null)");
            break;
        }
        case 'd':
            s = lng >= 2 ? va_arg(ap, long long) : lng ? va_arg(ap, long) : va_arg(ap, int);
            print_num(s < 0 ? -(uint64_t)s : (uint64_t)s, 10, width, pad, s < 0);
            break;
        case 'u':
        case 'x':
            u = lng >= 2 ? va_arg(ap, unsigned long long)
                : lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned);
            print_num(u, *fmt == 'x' ? 16 : 10, width, pad, 0);
            break;
        case 'p':
            puts("0x");
            print_num((uintptr_t)va_arg(ap, void *), 16, 8, '0', 0);
            break;
        case '%':
            putchar('%');
            break;
        default:
            putchar('%');
            putchar(*fmt);
            if (!*fmt) {
                fmt--;
            }
            break;
        }
    }
}

void printf(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

void exit(int code)
{
    /* isa-debug-exit: the VMM exits with (code << 1) | 1. */
    outb(DEBUG_EXIT_PORT, code);
    /* Without the device, stop here for good. */
    for (;;) {
        __asm__ volatile("cli; hlt");
    }
}

const char *mb_cmdline_arg(const struct mb_info *mbi, const char *key, char *buf, size_t size)
{
    const char *p;
    size_t klen = strlen(key);

    if (!(mbi->flags & MB_INFO_CMDLINE) || !size) {
        return NULL;
    }
    p = (const char *)(uintptr_t)mbi->cmdline;
    /* The first word is the kernel's path. */
    while (*p && *p != ' ') {
        p++;
    }
    while (*p) {
        while (*p == ' ') {
            p++;
        }
        if (!strncmp(p, key, klen) && p[klen] == '=') {
            size_t n = 0;

            p += klen + 1;
            while (p[n] && p[n] != ' ' && n + 1 < size) {
                buf[n] = p[n];
                n++;
            }
            buf[n] = 0;
            return buf;
        }
        while (*p && *p != ' ') {
            p++;
        }
    }
    return NULL;
}

int parse_uint(const char *s, uint32_t *v)
{
    uint32_t x = 0;
    unsigned base = 10;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!*s) {
        return -1;
    }
    for (; *s; s++) {
        unsigned d;

        if (*s >= '0' && *s <= '9') {
            d = *s - '0';
        } else if (base == 16 && *s >= 'a' && *s <= 'f') {
            d = *s - 'a' + 10;
        } else if (base == 16 && *s >= 'A' && *s <= 'F') {
            d = *s - 'A' + 10;
        } else {
            return -1;
        }
        x = x * base + d;
    }
    *v = x;
    return 0;
}

void guest_start(uint32_t magic, const struct mb_info *mbi);

void guest_start(uint32_t magic, const struct mb_info *mbi)
{
    serial_init();
    if (magic != MB_BOOTLOADER_MAGIC) {
        printf("guest: bad Multiboot magic 0x%x\n", magic);
        exit(GUEST_EXIT_BAD_MAGIC);
    }
    exit(main(mbi));
}
