/* hyvm-img create: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_create(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: create is not supported yet\n");
    return 1;
}
