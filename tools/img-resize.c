/* hyvm-img resize: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_resize(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: resize is not supported yet\n");
    return 1;
}
