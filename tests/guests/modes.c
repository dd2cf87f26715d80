/*
 * 16-bit protected mode and real mode (modes-switch.S): 16-bit operand
 * and address sizes with their wrap-around, a 16-bit stack, real-mode
 * segment arithmetic, operand-size prefixes, and the switches between the
 * modes.  Exit code 0 when every result is right, else the number of the
 * first wrong one.
 */
#include "guest.h"

#define BLOB 0x8000u
#define RES (BLOB + 0x1800u)

extern uint8_t modes_blob_start[], modes_blob_end[];
void modes_run(void);

int main(const struct mb_info *mbi)
{
    volatile uint16_t *res = (volatile uint16_t *)(uintptr_t)RES;
    volatile uint32_t *res32 = (volatile uint32_t *)(uintptr_t)RES;
    static const struct {
        unsigned idx;
        uint32_t want;
        int wide;
    } expect[] = {
        { 0, 0x2345, 0 },               /* 16-bit arithmetic in 16-bit protected mode */
        { 1, 0xbeef, 0 },               /* 16-bit push/pop */
        { 2, 0x7788, 0 },               /* [bx+si] wrapped to RES + 4 */
        { 3, 0x5a5a, 0 },               /* two real-mode segments, one byte */
        { 4, 0x0800, 0 },               /* real-mode CS */
        { 3, 0x12345678, 1 },           /* 66h in real mode */
        { 4, 0xcafef00d, 1 },           /* pushl/popl in real mode */
    };

    memcpy((void *)(uintptr_t)BLOB, modes_blob_start, modes_blob_end - modes_blob_start);
    memset((void *)(uintptr_t)RES, 0, 32);
    printf("modes: to 16-bit protected mode and real mode\n");
    modes_run();
    for (unsigned i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        uint32_t got = expect[i].wide ? res32[expect[i].idx] : res[expect[i].idx];

        if (got != expect[i].want) {
            printf("modes: result %u is 0x%x, not 0x%x\n", i + 1, got, expect[i].want);
            return i + 1;
        }
    }
    printf("modes: back in 32-bit protected mode, all %u results right\n",
           (unsigned)(sizeof(expect) / sizeof(expect[0])));
    return 0;
}
