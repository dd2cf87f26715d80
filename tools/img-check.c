/* hyvm-img check: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_check(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: check is not supported yet\n");
    return 1;
}
