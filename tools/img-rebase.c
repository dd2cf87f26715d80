/* hyvm-img rebase: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_rebase(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: rebase is not supported yet\n");
    return 1;
}
