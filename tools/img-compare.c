/* hyvm-img compare: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_compare(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: compare is not supported yet\n");
    return 1;
}
