/* hyvm-img dd: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_dd(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: dd is not supported yet\n");
    return 1;
}
