/* hyvm-img convert: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_convert(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: convert is not supported yet\n");
    return 1;
}
