/*
 * The executable code buffer of the translator (issue 11, point 1); the contract is in
 * jit-buf.h.
 *
 * Why two mappings of one memfd rather than mprotect flips of one mapping: a flip costs two
 * mprotect calls per translation (RW to write, RX to run), and each change that removes a
 * permission makes the kernel shoot down the TLB entries of every thread of the process on
 * every CPU it ran on - with one vCPU thread per CPU, every translation would interrupt all
 * the others.  With two views the permissions never change after jit_buf_create(); writes go
 * through the write view and the exec view sees them at once, because both map the same
 * physical pages.
 *
 * Coherence: x86 detects stores to code by physical address (SDM vol. 3A, "Self-Modifying
 * Code"), so code written through the write view and then jumped to through the exec view runs
 * as written on the same thread, without any cache flush.
 *
 * Threads: a buffer is created, written, reset and destroyed by the one vCPU thread that owns
 * it; nothing here locks.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "accel/tcg/jit-buf.h"
#include "system/error.h"

/* Linux 6.3: ask for an executable memfd explicitly (older headers lack the name). */
#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

/* Free space below the program text for the exec view, so calls to C helpers are rel32. */
#define JIT_BUF_NEAR_GAP ((uintptr_t)64 << 20)
#define JIT_BUF_HINT_ALIGN ((uintptr_t)2 << 20)

/*
 * memfd_create with MFD_EXEC, so a kernel with vm.memfd_noexec = 1 does not seal it against
 * execution; a kernel older than 6.3 refuses the unknown flag (EINVAL) and one with
 * vm.memfd_noexec = 2 refuses MFD_EXEC itself (EACCES): then ask without it, and the exec
 * mapping will tell whether it is allowed.
 */
static int jit_buf_memfd(void)
{
    int fd = memfd_create("hyvm-jit", MFD_CLOEXEC | MFD_EXEC);

    if (fd < 0 && (errno == EINVAL || errno == EACCES)) {
        fd = memfd_create("hyvm-jit", MFD_CLOEXEC);
    }
    return fd;
}

/*
 * Where to ask for the exec view: just below the program text, so that code in the buffer
 * reaches the C helpers it calls with a rel32 (+-2 GiB).  Only a hint: where the kernel puts
 * the view elsewhere, calls go through a register (jit_emit_call).
 */
static void *jit_buf_exec_hint(size_t size)
{
    uintptr_t text = (uintptr_t)&jit_buf_create;

    if (text < size + 2 * JIT_BUF_NEAR_GAP) {
        return NULL;
    }
    return (void *)((text - size - JIT_BUF_NEAR_GAP) & ~(JIT_BUF_HINT_ALIGN - 1));
}

static bool jit_buf_map(struct jit_buf *b, int fd, GError **errp)
{
    b->rw = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (b->rw == MAP_FAILED) {
        b->rw = NULL;
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "jit: cannot map the code buffer for writing: %s", g_strerror(errno));
        return false;
    }
    b->rx = mmap(jit_buf_exec_hint(b->size), b->size, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
    if (b->rx == MAP_FAILED) {
        b->rx = NULL;
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "jit: the host refuses an executable mapping of the code buffer "
                    "(noexec, seccomp or a W^X policy): %s", g_strerror(errno));
        return false;
    }
    return true;
}

struct jit_buf *jit_buf_create(size_t size, GError **errp)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    struct jit_buf *b;
    int fd;

    if (size == 0 || size > JIT_BUF_MAX_SIZE) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "jit: code buffer size %zu out of range (1 to %zu bytes)", size,
                    JIT_BUF_MAX_SIZE);
        return NULL;
    }
    fd = jit_buf_memfd();
    if (fd < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "jit: memfd_create for the code buffer failed: %s", g_strerror(errno));
        return NULL;
    }
    b = g_new0(struct jit_buf, 1);
    b->size = (size + page - 1) & ~(page - 1);
    if (ftruncate(fd, (off_t)b->size) < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "jit: cannot size the code buffer to %zu bytes: %s", b->size,
                    g_strerror(errno));
        goto fail;
    }
    if (!jit_buf_map(b, fd, errp)) {
        goto fail;
    }
    /* The mappings hold the file; the descriptor is of no further use. */
    close(fd);
    return b;

fail:
    close(fd);
    jit_buf_destroy(b);
    return NULL;
}

void jit_buf_destroy(struct jit_buf *b)
{
    if (!b) {
        return;
    }
    if (b->rx) {
        munmap(b->rx, b->size);
    }
    if (b->rw) {
        munmap(b->rw, b->size);
    }
    g_free(b);
}

/*
 * Fills the dropped code with INT3 (CC), so that a stale jump into it (a chain not cleared)
 * traps at once instead of running whatever is written there next.
 */
void jit_buf_reset(struct jit_buf *b)
{
    memset(b->rw, 0xcc, b->used);
    b->used = 0;
}

static size_t jit_buf_aligned_used(const struct jit_buf *b)
{
    size_t off = (b->used + JIT_BUF_ALIGN - 1) & ~(size_t)(JIT_BUF_ALIGN - 1);

    return off < b->size ? off : b->size;
}

uint8_t *jit_buf_alloc(struct jit_buf *b, size_t len)
{
    size_t off = jit_buf_aligned_used(b);

    if (len > b->size - off) {
        return NULL;
    }
    b->used = off + len;
    return b->rw + off;
}

uint8_t *jit_buf_write_ptr(const struct jit_buf *b)
{
    return b->rw + jit_buf_aligned_used(b);
}

uint8_t *jit_buf_write_end(const struct jit_buf *b)
{
    return b->rw + b->size;
}

const void *jit_buf_exec_ptr(const struct jit_buf *b)
{
    return b->rx + jit_buf_aligned_used(b);
}

const void *jit_buf_commit(struct jit_buf *b, const uint8_t *end)
{
    size_t start = jit_buf_aligned_used(b);

    g_assert(end >= b->rw + start && end <= b->rw + b->size);
    b->used = (size_t)(end - b->rw);
    return b->rx + start;
}

size_t jit_buf_free_space(const struct jit_buf *b)
{
    return b->size - jit_buf_aligned_used(b);
}
