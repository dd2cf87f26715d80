/*
 * The executable code buffer of the translator (issue 11, point 1): host code is written
 * through one mapping and run through another, so no page is ever writable and executable at
 * once (W^X).  One memfd is mapped twice: PROT_READ|PROT_WRITE (the write view) and
 * PROT_READ|PROT_EXEC (the exec view), at different addresses with a fixed offset between
 * them.  Code is bump-allocated, 16-byte aligned, and dropped all at once by jit_buf_reset()
 * when the buffer is full (the translator then flushes its blocks and translates again).
 *
 * Typical use, with the emitter of jit-emit.h:
 *     jit_emit_init(&e, jit_buf_write_ptr(b), jit_buf_write_end(b), jit_buf_rx_offset(b));
 *     ... emit ...
 *     if (e.overflow) { jit_buf_reset(b); drop every block; start again; }
 *     entry = jit_buf_commit(b, e.p);    // exec-view address of the code just written
 *
 * Threads: a buffer belongs to one vCPU thread, which writes and runs its own code; nothing
 * here locks.  Other threads may run code of a buffer they do not own only once chaining
 * across vCPUs exists; patching it then follows the cross-modifying code rules (SDM vol. 3A,
 * "Handling Self- and Cross-Modifying Code").
 */
#ifndef HYVM_JIT_BUF_H
#define HYVM_JIT_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* Code must stay within +-2 GiB of itself so that every jump inside the buffer is a rel32. */
#define JIT_BUF_MAX_SIZE ((size_t)1 << 30)
/* Alignment of every allocation: a cache-friendly block entry, as compilers align functions. */
#define JIT_BUF_ALIGN 16

struct jit_buf {
    uint8_t *rw;        /* write view: PROT_READ|PROT_WRITE */
    uint8_t *rx;        /* exec view: PROT_READ|PROT_EXEC, same pages */
    size_t size;        /* bytes in each view, a multiple of the page size */
    size_t used;        /* bump offset: everything below is allocated */
};

/* Maps a buffer of at least size bytes; NULL and *errp set when the host refuses. */
struct jit_buf *jit_buf_create(size_t size, GError **errp);
void jit_buf_destroy(struct jit_buf *b);

/* Drops all code: the next allocation starts at the beginning again. */
void jit_buf_reset(struct jit_buf *b);

/* Allocates len bytes (16-byte aligned); returns the write-view pointer, NULL when full. */
uint8_t *jit_buf_alloc(struct jit_buf *b, size_t len);

/* The next write position (16-byte aligned) and the end of the buffer, write view. */
uint8_t *jit_buf_write_ptr(const struct jit_buf *b);
uint8_t *jit_buf_write_end(const struct jit_buf *b);

/* The exec-view address of jit_buf_write_ptr(), where code written there will run. */
const void *jit_buf_exec_ptr(const struct jit_buf *b);

/*
 * Ends an emission that started at jit_buf_write_ptr() and stopped before end (write view):
 * the bytes become allocated.  Returns the exec-view address of the start of the emission.
 */
const void *jit_buf_commit(struct jit_buf *b, const uint8_t *end);

/* Bytes left for the next emission. */
size_t jit_buf_free_space(const struct jit_buf *b);

/* Exec-view address minus write-view address: the same for every byte of the buffer. */
static inline intptr_t jit_buf_rx_offset(const struct jit_buf *b)
{
    return (intptr_t)((uintptr_t)b->rx - (uintptr_t)b->rw);
}

/* The exec-view address of a write-view pointer into the buffer. */
static inline const void *jit_buf_rx(const struct jit_buf *b, const void *w)
{
    return (const void *)((uintptr_t)w + (uintptr_t)jit_buf_rx_offset(b));
}

#endif
