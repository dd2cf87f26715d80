/*
 * Exits with the code given as "code=N" on the Multiboot command line
 * (-append 'code=21' ends the VMM with status 43).  Without it: 0x55.
 */
#include "guest.h"

#define NO_CODE 0x55

int main(const struct mb_info *mbi)
{
    char buf[16];
    uint32_t code;

    if (!mb_cmdline_arg(mbi, "code", buf, sizeof(buf)) || parse_uint(buf, &code) < 0) {
        printf("exit-code: no code=N on the command line '%s'\n",
               mbi->flags & MB_INFO_CMDLINE ? (const char *)(uintptr_t)mbi->cmdline : "");
        return NO_CODE;
    }
    printf("exit-code: exiting with %u\n", code);
    return code;
}
