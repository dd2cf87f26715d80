/*
 * QEMU's option syntax: "value,key=value,key=value" with an implied first
 * key, ",," for a literal comma, bare "key" for key=on and "nokey" for
 * key=off (the old spelling, e.g. "server,nowait"), booleans spelled
 * on/off/yes/no/true/false, and sizes with k/M/G/T/P/E suffixes.
 */
#ifndef HYVM_KEYVAL_H
#define HYVM_KEYVAL_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

struct kv_pair {
    char *key;
    char *value;
};

struct kv_list {
    unsigned n;
    struct kv_pair *items;
};

/*
 * Parses str.  implied_key names the key of a leading bare value ("pc" in
 * "-M pc,accel=kvm" is type=pc), or NULL.  Errors name the offending part.
 */
struct kv_list *kv_parse(const char *str, const char *implied_key, GError **errp);
void kv_free(struct kv_list *l);
/* An empty list, and a pair added at its end (lists built by hand: QMP
 * arguments, -nic's back end options). */
struct kv_list *kv_new(void);
void kv_append(struct kv_list *l, const char *key, const char *value);
/* The last value given for key, or NULL. */
const char *kv_get(const struct kv_list *l, const char *key);
bool kv_has(const struct kv_list *l, const char *key);

/* on/off/yes/no/true/false; false when s is none of them. */
bool parse_bool(const char *s, bool *out);
/*
 * A size: a non-negative number with an optional k/K, M, G, T, P, E suffix
 * (powers of 1024) and an optional fraction ("1.5G").  default_unit scales a
 * number without suffix (1 for bytes, 1 << 20 for -m's MiB).
 */
int parse_size(const char *s, uint64_t default_unit, uint64_t *out);
/* Unsigned integer in decimal, 0x hex or 0 octal; whole string. */
int parse_uint(const char *s, uint64_t *out);

#endif
