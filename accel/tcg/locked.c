/*
 * Locked instructions while vCPUs run at once (-accel tcg,thread=multi): a
 * LOCK-prefixed read-modify-write, or XCHG with memory, must be atomic
 * for every other vCPU (SDM vol. 3, 9.1.2.2).  Translated code keeps the
 * LOCK prefix on the host instruction where it runs the instruction
 * itself (jit-mem.c); what calls the handler comes here.
 *
 * The handler runs as usual, but its read of the destination (with write
 * intent, tcg_mem_read_rmw or tcg_read_lin) is captured with the host
 * address, and its write of the same bytes is held back.  Then one host
 * compare-and-exchange stores the new value if memory still holds what
 * the handler read; if not, the general registers and RFLAGS go back to
 * what they were and the handler runs again on the new value.  A fault
 * leaves memory untouched, as the handler would.
 *
 * Serially, under one process-wide mutex, instead: a destination that is
 * not naturally aligned, that crosses a page, is MMIO, holds decoded code
 * (the store must reach the block caches) or sits under a data
 * breakpoint.  Those are atomic against each other, not against the
 * other vCPUs' plain stores; Linux treats a split lock as a bug and
 * warns on it.
 *
 * Threads: runs on the vCPU's thread; the state it keeps is cpu->lk.
 */
#include <pthread.h>
#include <string.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"

static pthread_mutex_t serial = PTHREAD_MUTEX_INITIALIZER;

bool tcg_insn_locked(const struct insn *in)
{
    return in->has_mem && ((in->prefixes & PFX_LOCK) || in->op == OP_XCHG);
}

void tcg_locked_serial(struct tcg_cpu *cpu)
{
    pthread_mutex_lock(&serial);
    cpu->lk.state = LK_SERIAL;
}

static bool cas16(uint8_t *p, const uint8_t *old, const uint8_t *new)
{
    uint64_t o[2], n[2];
    bool ok;

    memcpy(o, old, 16);
    memcpy(n, new, 16);
    __asm__ volatile("lock cmpxchg16b %1"
                     : "=@ccz"(ok), "+m"(*(uint64_t (*)[2])p), "+a"(o[0]), "+d"(o[1])
                     : "b"(n[0]), "c"(n[1])
                     : "memory");
    return ok;
}

/* The compare-and-exchange and the load of one operand size, as that size's integer. */
#define CAS_AS(type)                                                                      \
    do {                                                                                  \
        type o_, n_;                                                                      \
        memcpy(&o_, lk->old, sizeof(type));                                               \
        memcpy(&n_, lk->new, sizeof(type));                                               \
        return __atomic_compare_exchange_n((type *)(void *)lk->host, &o_, n_, false,      \
                                           __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);           \
    } while (0)
#define LOAD_AS(type)                                                                     \
    do {                                                                                  \
        type v_ = __atomic_load_n((type *)(void *)host, __ATOMIC_ACQUIRE);                \
        memcpy(lk->old, &v_, sizeof(type));                                               \
    } while (0)

/* Stores lk.new where lk.old still is; the address is aligned to the size. */
static bool cas(const struct tcg_locked *lk)
{
    switch (lk->size) {
    case 1:
        CAS_AS(uint8_t);
    case 2:
        CAS_AS(uint16_t);
    case 4:
        CAS_AS(uint32_t);
    case 8:
        CAS_AS(uint64_t);
    default:
        return cas16(lk->host, lk->old, lk->new);
    }
}

void tcg_locked_load(struct tcg_cpu *cpu, uint64_t lin, uint8_t *host, unsigned size)
{
    struct tcg_locked *lk = &cpu->lk;

    lk->lin = lin;
    lk->host = host;
    lk->size = (uint8_t)size;
    switch (size) {
    case 1:
        LOAD_AS(uint8_t);
        break;
    case 2:
        LOAD_AS(uint16_t);
        break;
    case 4:
        LOAD_AS(uint32_t);
        break;
    case 8:
        LOAD_AS(uint64_t);
        break;
    default: {
        /* Two halves: a torn pair only makes the exchange fail and run again. */
        uint64_t v[2] = { __atomic_load_n((uint64_t *)(void *)host, __ATOMIC_ACQUIRE),
                          __atomic_load_n((uint64_t *)(void *)(host + 8), __ATOMIC_ACQUIRE) };

        memcpy(lk->old, v, 16);
        break;
    }
    }
    lk->state = LK_READ;
}

bool tcg_locked_capture(struct tcg_cpu *cpu, uint64_t lin, const void *buf, unsigned size)
{
    struct tcg_locked *lk = &cpu->lk;

    if (lin != lk->lin || size != lk->size) {
        return false;
    }
    memcpy(lk->new, buf, size);
    lk->state = LK_WRITTEN;
    return true;
}

enum tcg_status tcg_exec_locked(struct tcg_cpu *cpu, const struct insn *in)
{
    tcg_exec_fn fn = tcg_handler_of(in);

    for (;;) {
        uint64_t regs[16], rflags = cpu->st.rflags;
        enum tcg_status st;
        uint8_t state;

        memcpy(regs, cpu->st.regs, sizeof(regs));
        cpu->lk.state = LK_ARMED;
        st = fn(cpu, in);
        state = cpu->lk.state;
        cpu->lk.state = LK_OFF;
        if (state == LK_SERIAL) {
            pthread_mutex_unlock(&serial);
            return st;
        }
        if (state != LK_WRITTEN || st != TCG_OK || cas(&cpu->lk)) {
            return st;
        }
        /* Another vCPU changed the destination since it was read: again, from the start. */
        memcpy(cpu->st.regs, regs, sizeof(regs));
        cpu->st.rflags = rflags;
    }
}
