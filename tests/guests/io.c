/*
 * Port and MMIO access to pc-testdev (-device pc-testdev): the 32-bit
 * scratch register at ports 0xe0-0xe3 with every access width, its byte
 * view at 0xe8, and the 64 KiB of memory behind MMIO at 0xff000000.
 * Exit code 0 when every check passes, else the number of the first one
 * that failed.
 */
#include "guest.h"

#define TESTDEV_PORT 0xe0
#define TESTDEV_PORT_BYTE 0xe8
#define TESTDEV_MMIO 0xff000000u

static unsigned checks;

#define CHECK(cond)                                                        \
    do {                                                                   \
        checks++;                                                          \
        if (!(cond)) {                                                     \
            printf("io: check %u failed: %s (line %d)\n", checks, #cond,  \
                   __LINE__);                                              \
            return checks;                                                 \
        }                                                                  \
    } while (0)

int main(const struct mb_info *mbi)
{
    volatile uint32_t *m32 = (volatile uint32_t *)(uintptr_t)TESTDEV_MMIO;
    volatile uint16_t *m16 = (volatile uint16_t *)(uintptr_t)TESTDEV_MMIO;
    volatile uint8_t *m8 = (volatile uint8_t *)(uintptr_t)TESTDEV_MMIO;

    outl(TESTDEV_PORT, 0x12345678);
    CHECK(inl(TESTDEV_PORT) == 0x12345678);
    CHECK(inw(TESTDEV_PORT) == 0x5678);
    CHECK(inb(TESTDEV_PORT + 1) == 0x56);
    CHECK(inw(TESTDEV_PORT + 2) == 0x1234);
    outw(TESTDEV_PORT + 2, 0xabcd);
    CHECK(inl(TESTDEV_PORT) == 0xabcd5678);
    outb(TESTDEV_PORT + 1, 0x99);
    CHECK(inl(TESTDEV_PORT) == 0xabcd9978);
    CHECK(inb(TESTDEV_PORT_BYTE) == 0x78);
    CHECK(inb(TESTDEV_PORT_BYTE + 3) == 0xab);

    m32[0] = 0xdeadbeef;
    m32[1] = 0x01020304;
    CHECK(m32[0] == 0xdeadbeef);
    CHECK(m8[1] == 0xbe);
    CHECK(m16[1] == 0xdead);
    m8[4] = 0xff;
    CHECK(m32[1] == 0x010203ff);
    m32[0x3fff] = 0xcafef00d;                  /* the last word of the window */
    CHECK(m32[0x3fff] == 0xcafef00d);
    CHECK(m32[0] == 0xdeadbeef);

    printf("io: all %u checks passed\n", checks);
    return 0;
}
