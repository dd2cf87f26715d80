/* hyvm-img bench: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_bench(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: bench is not supported yet\n");
    return 1;
}
