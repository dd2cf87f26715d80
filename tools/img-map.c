/* hyvm-img map: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_map(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: map is not supported yet\n");
    return 1;
}
