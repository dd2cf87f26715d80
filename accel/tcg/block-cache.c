/*
 * The decoded-block cache of the software CPU (DESIGN.md, "The software
 * CPU", 2): runs of decoded instructions, each within one guest-physical
 * page, looked up by the guest-physical address of their first byte and
 * the mode they were decoded for.  Keying by physical address makes a
 * change of CR3 or of the page tables harmless; the linear address
 * (CS base + RIP) is translated through the TLB first, which also checks
 * that the page may be executed.
 *
 * Self-modifying code: a page that holds blocks is marked TLB_CODE in the
 * TLB, so a store to it leaves the fast path and calls tcg_code_written(),
 * which drops every block of the page.  The block running at that moment
 * is only marked dead (its instructions may still be in use by the
 * handler) and the loop leaves it after the current instruction.
 *
 * The loop (cpu-exec.c) decodes the blocks and decides where they end;
 * this file keeps and drops them.
 *
 * With several vCPUs each has its cache, and code is the business of all:
 * the page's code word (code-pages.c) names every vCPU with blocks there,
 * a store by any vCPU into such a page drops them from every cache (Linux
 * patches kernel text on one CPU for all of them), each vCPU dropping its
 * own when it is told.
 *
 * Threads: a vCPU's cache is used on its thread only.
 */
#include <string.h>
#include <glib.h>

#include "accel/tcg/tcg-cpu.h"
#include "accel/tcg/tcg-internal.h"

#define BC_HASH_BITS 16
#define BC_HASH_SIZE (1u << BC_HASH_BITS)
/* Past this many blocks the cache starts again from empty. */
#define BC_MAX_BLOCKS 32768

struct tcg_block_cache {
    struct tcg_block *hash[BC_HASH_SIZE];
    GHashTable *pages;          /* gpa >> 12 -> first block of the page */
    struct tcg_block *current;  /* the block the loop is in, or NULL */
    bool hit;                   /* current was written to: leave it */
    unsigned nblocks;
    uint64_t gen;               /* see tcg_blocks_gen() */
};

static inline unsigned bc_hash(uint64_t gpa, enum cpu_mode mode)
{
    uint64_t h = (gpa ^ ((uint64_t)mode << 60)) * 0x9e3779b97f4a7c15ull;

    return (unsigned)(h >> (64 - BC_HASH_BITS));
}

static inline gpointer page_key(uint64_t gpa)
{
    return GSIZE_TO_POINTER((gsize)(gpa >> 12));
}

struct tcg_block_cache *tcg_blocks_new(void)
{
    struct tcg_block_cache *bc = g_new0(struct tcg_block_cache, 1);

    bc->pages = g_hash_table_new(g_direct_hash, g_direct_equal);
    return bc;
}

uint64_t tcg_blocks_gen(const struct tcg_block_cache *bc)
{
    return bc->gen;
}

void tcg_blocks_unlink(struct tcg_block_cache *bc)
{
    if (bc) {
        bc->gen++;
    }
}

static void drop_block(struct tcg_block_cache *bc, struct tcg_block *b)
{
    struct tcg_block **pp = &bc->hash[bc_hash(b->gpa, b->mode)];

    /* Links to b, in any block, are stale from here on. */
    bc->gen++;
    while (*pp && *pp != b) {
        pp = &(*pp)->hnext;
    }
    if (*pp) {
        *pp = b->hnext;
    }
    bc->nblocks--;
    if (b == bc->current) {
        b->dead = true;
        bc->hit = true;
    } else {
        g_free(b);
    }
}

void tcg_blocks_flush(struct tcg_block_cache *bc)
{
    bc->gen++;
    for (unsigned i = 0; i < BC_HASH_SIZE; i++) {
        struct tcg_block *b = bc->hash[i], *next;

        for (; b; b = next) {
            next = b->hnext;
            if (b == bc->current) {
                b->dead = true;
                bc->hit = true;
            } else {
                g_free(b);
            }
        }
        bc->hash[i] = NULL;
    }
    g_hash_table_remove_all(bc->pages);
    bc->nblocks = 0;
}

void tcg_blocks_free(struct tcg_block_cache *bc)
{
    if (!bc) {
        return;
    }
    bc->current = NULL;
    tcg_blocks_flush(bc);
    g_hash_table_destroy(bc->pages);
    g_free(bc);
}

bool tcg_blocks_page_has_code(struct tcg_block_cache *bc, uint64_t gpa_page)
{
    return g_hash_table_contains(bc->pages, page_key(gpa_page));
}

/* Drops the page's blocks from one cache. */
static void drop_page(struct tcg_block_cache *bc, uint64_t gpa_page)
{
    gpointer key = page_key(gpa_page);
    struct tcg_block *b = g_hash_table_lookup(bc->pages, key), *next;

    if (b) {
        g_hash_table_remove(bc->pages, key);
        for (; b; b = next) {
            next = b->pnext;
            drop_block(bc, b);
        }
    }
}

struct tcg_block *tcg_blocks_lookup(struct tcg_block_cache *bc, uint64_t gpa,
                                    enum cpu_mode mode)
{
    struct tcg_block *b = bc->hash[bc_hash(gpa, mode)];

    while (b && (b->gpa != gpa || b->mode != mode)) {
        b = b->hnext;
    }
    return b;
}

void tcg_blocks_insert(struct tcg_cpu *cpu, struct tcg_block *b)
{
    struct tcg_block_cache *bc = cpu->blocks;
    struct tcg_block **head;
    gpointer key = page_key(b->gpa);

    if (bc->nblocks >= BC_MAX_BLOCKS) {
        tcg_blocks_flush(bc);
        /* Other vCPUs' blocks stay in the code words, which stores check too. */
        for (unsigned i = 0; i < TCG_TLB_SIZE; i++) {
            cpu->tlb[i].perm &= ~TLB_CODE;
        }
    }
    b->dead = false;
    head = &bc->hash[bc_hash(b->gpa, b->mode)];
    b->hnext = *head;
    *head = b;
    b->pnext = g_hash_table_lookup(bc->pages, key);
    if (!b->pnext) {
        /* Marked before its bytes were decoded, unless flushed since: again. */
        tcg_tlb_mark_code(cpu, b->gpa & ~0xfffull, true);
    }
    g_hash_table_insert(bc->pages, key, b);
    bc->nblocks++;
}

void tcg_blocks_drop_page(struct tcg_cpu *cpu, uint64_t gpa_page)
{
    if (cpu->blocks) {
        drop_page(cpu->blocks, gpa_page & ~0xfffull);
    }
}

void tcg_blocks_enter(struct tcg_block_cache *bc, struct tcg_block *b)
{
    bc->current = b;
    bc->hit = false;
}

void tcg_blocks_leave(struct tcg_block_cache *bc)
{
    struct tcg_block *b = bc->current;

    bc->current = NULL;
    if (b && b->dead) {
        g_free(b);
    }
}

bool *tcg_blocks_hit(struct tcg_block_cache *bc)
{
    return &bc->hit;
}

struct tcg_block *tcg_blocks_current(const struct tcg_block_cache *bc)
{
    return bc->current;
}

struct tcg_block **tcg_blocks_current_ptr(struct tcg_block_cache *bc)
{
    return &bc->current;
}

const uint64_t *tcg_blocks_gen_ptr(const struct tcg_block_cache *bc)
{
    return &bc->gen;
}
