/*
 * A fixed integer workload for the software CPU: CRC-32 (bitwise, the
 * reflected 0xEDB88320 polynomial) over a 64 KiB buffer, and an insertion
 * plus quick sort of pseudo-random words (branchy).  "iters=N" on the
 * command line repeats both N times (default 1), so the test suite runs it
 * briefly and tests/bench/cpu.py runs it long.  The printed checksums are
 * the same on every accelerator and on QEMU.
 */
#include "guest.h"

#define BUF_SIZE (64 * 1024)
#define SORT_N 4096

static uint8_t buf[BUF_SIZE];
static uint32_t words[SORT_N];

static uint32_t crc32_bitwise(uint32_t crc, const uint8_t *p, uint32_t n)
{
    crc = ~crc;
    while (n--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++) {
            crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
        }
    }
    return ~crc;
}

/* xorshift32: a deterministic word stream. */
static uint32_t next_word(uint32_t *s)
{
    uint32_t x = *s;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void insertion_sort(uint32_t *a, int n)
{
    for (int i = 1; i < n; i++) {
        uint32_t v = a[i];
        int j = i - 1;

        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quick_sort(uint32_t *a, int lo, int hi)
{
    while (hi - lo > 16) {
        uint32_t pivot = a[lo + (hi - lo) / 2];
        int i = lo, j = hi;

        while (i <= j) {
            while (a[i] < pivot) {
                i++;
            }
            while (a[j] > pivot) {
                j--;
            }
            if (i <= j) {
                uint32_t t = a[i];

                a[i++] = a[j];
                a[j--] = t;
            }
        }
        if (j - lo < hi - i) {
            quick_sort(a, lo, j);
            lo = i;
        } else {
            quick_sort(a, i, hi);
            hi = j;
        }
    }
    insertion_sort(a + lo, hi - lo + 1);
}

int main(const struct mb_info *mbi)
{
    char arg[16];
    uint32_t iters = 1, seed = 2463534242u, crc = 0, sum = 0;

    if (mb_cmdline_arg(mbi, "iters", arg, sizeof(arg)) && parse_uint(arg, &iters) < 0) {
        printf("workload: bad iters=%s\n", arg);
        return 2;
    }
    for (uint32_t i = 0; i < BUF_SIZE; i++) {
        buf[i] = (uint8_t)next_word(&seed);
    }
    for (uint32_t it = 0; it < iters; it++) {
        crc = crc32_bitwise(crc, buf, BUF_SIZE);
        for (int i = 0; i < SORT_N; i++) {
            words[i] = next_word(&seed);
        }
        quick_sort(words, 0, SORT_N - 1);
        for (int i = 1; i < SORT_N; i++) {
            if (words[i - 1] > words[i]) {
                printf("workload: not sorted at %d\n", i);
                return 3;
            }
        }
        sum = sum * 31 + words[SORT_N / 2];
    }
    printf("workload: %u iterations, crc32 %08x, sort %08x\n", iters, crc, sum);
    return 0;
}
