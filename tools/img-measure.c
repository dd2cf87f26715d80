/* hyvm-img measure: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_measure(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: measure is not supported yet\n");
    return 1;
}
