/* hyvm-img snapshot: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_snapshot(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: snapshot is not supported yet\n");
    return 1;
}
