/*
 * Which guest-physical pages hold decoded code, for every vCPU at once
 * (self-modifying and cross-modifying code, DESIGN.md "The software CPU").
 *
 * Each page of RAM has a word here: bit min(i, 31) set while vCPU i may
 * have blocks in the page.  A vCPU sets its bit before it reads the
 * page's bytes to decode them (tcg_code_mark); a store that finds the word
 * non-zero (tcg_code_written) clears it, drops its own blocks of the page
 * and posts the page to every other vCPU the word named.  A posted vCPU is
 * asked to leave translated code at its next block boundary (the stop
 * flag of tcg_run) and drops the pages before it looks up another block
 * (tcg_code_drain).  Each vCPU changes only its own block cache and TLBs,
 * with one exception: when a page becomes code, the marking vCPU clears
 * the fast TLB's write tag of any other vCPU's slot that maps the page.
 *
 * The orderings that make this hold with every vCPU on its own thread:
 * - marking: the bit is set with a locked RMW (a full fence) before the
 *   other vCPUs' fast TLBs are scanned; a fast TLB fill writes its tags,
 *   fences, then reads the word and takes the write tag back when it is
 *   set.  Either the scan sees the slot or the fill sees the bit.
 * - a store that races the decoding of its own page by another vCPU, in
 *   the few host instructions between its check and its store, may be
 *   missed.  The SDM asks cross-modifying code to be synchronised (the
 *   writer stores, then signals; the executor waits, then serialises),
 *   and a store made before the signal is seen.
 *
 * Device DMA into RAM (tcg_ram_written) posts the pages it wrote as a
 * store does.
 *
 * Threads: any thread may mark, store or post; the words are atomics and
 * a vCPU's post list has its own spin lock (held for an append or a swap).
 */
#include <string.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"

/* Guest-physical addresses below 2^48: 2^18 leaves of 1 GiB, allocated when a TLB entry of
 * RAM first needs one. */
#define LEAF_BITS 18                            /* pages per leaf: 1 GiB */
#define TOP_SIZE (1u << (48 - 12 - LEAF_BITS))

static uint32_t *leaves[TOP_SIZE];
static uint32_t zero_word;                      /* outside 2^48: never code */

/* vCPU i's bit: vCPUs from 31 on share bit 31. */
static uint32_t index_bit(unsigned i)
{
    return 1u << (i < 31 ? i : 31);
}

/* The page's word; NULL when its leaf does not exist and alloc is false (no code there). */
static uint32_t *word_of(uint64_t gpa_page, bool alloc)
{
    uint64_t page = gpa_page >> 12;
    uint64_t top = page >> LEAF_BITS;
    uint32_t *leaf;

    if (top >= TOP_SIZE) {
        return alloc ? &zero_word : NULL;
    }
    leaf = __atomic_load_n(&leaves[top], __ATOMIC_ACQUIRE);
    if (!leaf) {
        uint32_t *fresh, *none = NULL;

        if (!alloc) {
            return NULL;
        }
        fresh = g_new0(uint32_t, 1u << LEAF_BITS);

        if (__atomic_compare_exchange_n(&leaves[top], &none, fresh, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE)) {
            leaf = fresh;
        } else {
            g_free(fresh);
            leaf = none;
        }
    }
    return &leaf[page & ((1u << LEAF_BITS) - 1)];
}

uint32_t *tcg_code_word(uint64_t gpa_page)
{
    return word_of(gpa_page, true);
}

static uint32_t code_mask(uint64_t gpa_page)
{
    uint32_t *w = word_of(gpa_page, false);

    return w ? __atomic_load_n(w, __ATOMIC_ACQUIRE) : 0;
}

bool tcg_code_page(uint64_t gpa_page)
{
    return code_mask(gpa_page & ~0xfffull) != 0;
}

void tcg_code_mark(struct tcg_cpu *cpu, uint64_t gpa_page)
{
    uint32_t *w = tcg_code_word(gpa_page);
    uint32_t old = __atomic_fetch_or(w, index_bit(tcg_cpu_index(cpu)), __ATOMIC_SEQ_CST);

    /* cpu's own TLBs learn it when the block goes into its cache (tcg_blocks_insert). */
    if (old) {
        return;     /* already code: no fast TLB may write the page */
    }
    for (unsigned i = 0; i < tcg_cpu_count(); i++) {
        struct tcg_cpu *other = tcg_cpu_at(i);

        if (!other || other == cpu) {
            continue;
        }
        for (unsigned s = 0; s < TCG_TLB_FAST_SIZE; s++) {
            if (__atomic_load_n(&other->tlbf[s].gpa_page, __ATOMIC_RELAXED) == gpa_page) {
                __atomic_store_n(&other->tlbf[s].write, ~0ull, __ATOMIC_RELAXED);
            }
        }
    }
}

static void posts_lock(struct tcg_cpu *cpu)
{
    while (__atomic_test_and_set(&cpu->code_lock, __ATOMIC_ACQUIRE)) {
        __builtin_ia32_pause();
    }
}

static void posts_unlock(struct tcg_cpu *cpu)
{
    __atomic_clear(&cpu->code_lock, __ATOMIC_RELEASE);
}

/* Tells other (not the caller) that gpa_page was written. */
static void post(struct tcg_cpu *other, uint64_t gpa_page)
{
    posts_lock(other);
    if (!other->code_posted) {
        other->code_posted = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    }
    g_array_append_val(other->code_posted, gpa_page);
    __atomic_store_n(&other->code_pending, true, __ATOMIC_RELEASE);
    posts_unlock(other);
    tcg_cpu_request_exit(other);
}

/* Posts gpa_page to the vCPUs the word named, but skip. */
static void post_all(uint32_t mask, uint64_t gpa_page, const struct tcg_cpu *skip)
{
    for (unsigned i = 0; i < tcg_cpu_count() && mask; i++) {
        struct tcg_cpu *other = tcg_cpu_at(i);

        if (other && other != skip && (mask & index_bit(i))) {
            post(other, gpa_page);
        }
    }
}

void tcg_code_drain(struct tcg_cpu *cpu)
{
    g_autoptr(GArray) pages = NULL;
    bool flush;

    if (!__atomic_load_n(&cpu->code_pending, __ATOMIC_ACQUIRE)) {
        return;
    }
    posts_lock(cpu);
    pages = cpu->code_posted;
    cpu->code_posted = NULL;
    flush = cpu->tlb_flush_req;
    cpu->tlb_flush_req = false;
    __atomic_store_n(&cpu->code_pending, false, __ATOMIC_RELAXED);
    posts_unlock(cpu);
    if (flush) {
        tcg_tlb_flush(cpu);
    }
    for (guint i = 0; pages && i < pages->len; i++) {
        uint64_t gpa_page = g_array_index(pages, uint64_t, i);

        tcg_blocks_drop_page(cpu, gpa_page);
        tcg_tlb_mark_code(cpu, gpa_page, false);
    }
}

void tcg_code_written(struct tcg_cpu *cpu, uint64_t gpa_page)
{
    uint32_t old;

    gpa_page &= ~0xfffull;
    /* Pages others wrote go first: this store may be into the block running. */
    tcg_code_drain(cpu);
    old = __atomic_exchange_n(tcg_code_word(gpa_page), 0, __ATOMIC_SEQ_CST);
    tcg_blocks_drop_page(cpu, gpa_page);
    tcg_tlb_mark_code(cpu, gpa_page, false);
    post_all(old, gpa_page, cpu);
}

void tcg_ram_written(uint64_t gpa, uint64_t len)
{
    uint64_t end = gpa + len;

    if (!len || end < gpa) {
        return;
    }
    for (uint64_t p = gpa & ~0xfffull; p < end; p += 4096) {
        if (code_mask(p)) {
            uint32_t old = __atomic_exchange_n(tcg_code_word(p), 0, __ATOMIC_SEQ_CST);

            post_all(old, p, NULL);
        }
    }
}

/*
 * A chipset register moved what a range decodes to (ROM or RAM, hw/i440fx-pam.c): the
 * blocks decoded from the old bytes go as after a store, and so does every translation,
 * since a TLB entry holds the host address of what the page was.  The vCPU that wrote the
 * register drops its TLB now, between two accesses of its instruction, as a CR3 write
 * does; the others at their next block, through the post list's flag.
 */
void tcg_map_changed(uint64_t gpa, uint64_t len)
{
    struct tcg_cpu *self = tcg_current_cpu();

    tcg_ram_written(gpa, len);
    for (unsigned i = 0; i < tcg_cpu_count(); i++) {
        struct tcg_cpu *other = tcg_cpu_at(i);

        if (!other) {
            continue;
        }
        if (other == self) {
            tcg_tlb_flush(other);
            continue;
        }
        posts_lock(other);
        other->tlb_flush_req = true;
        __atomic_store_n(&other->code_pending, true, __ATOMIC_RELEASE);
        posts_unlock(other);
        tcg_cpu_request_exit(other);
    }
}

void tcg_code_cpu_free(struct tcg_cpu *cpu)
{
    if (cpu->code_posted) {
        g_array_free(cpu->code_posted, TRUE);
        cpu->code_posted = NULL;
    }
}
