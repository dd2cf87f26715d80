/* hyvm-img info: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_info(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: info is not supported yet\n");
    return 1;
}
