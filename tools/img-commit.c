/* hyvm-img commit: placeholder until its implementation lands. */
#include <stdio.h>

#include "tools/img.h"

int img_commit(int argc, char **argv)
{
    fprintf(stderr, "hyvm-img: commit is not supported yet\n");
    return 1;
}
