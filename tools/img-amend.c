/* hyvm-img amend: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_amend(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: amend is not supported yet\n");
    return 1;
}
