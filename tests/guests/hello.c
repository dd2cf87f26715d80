/* The first guest: one line on COM1, then exit code 0 (VMM status 1). */
#include "guest.h"

int main(const struct mb_info *mbi)
{
    printf("Hello from the hello guest\n");
    return 0;
}
