/*
 * container_of: from a pointer to a member back to the struct holding it
 * (DESIGN.md: used instead of casts).
 */
#ifndef HYVM_CONTAINER_OF_H
#define HYVM_CONTAINER_OF_H

#include <stddef.h>

#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))

#endif
