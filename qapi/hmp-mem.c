/*
 * x and xp: QEMU's memory dump, "x /fmt addr".  fmt is [count][format]
 * [size]: format x, d, u, o, c, i (i: capstone, through arch/x86/disas.c),
 * size b, h, w, g.  addr is a small expression (+ - * / % & | ^ ~,
 * parentheses, 'c' constants, $registers) as QEMU's monitor takes it.
 * Format and size stick from one dump to the next, as in QEMU.
 *
 * x reads guest virtual addresses through the first vCPU's page tables
 * (Intel SDM vol. 3, 4.3 32-bit, 4.4 PAE and 4.5 4-level paging).
 *
 * Threads: main thread, big lock held.  Guest page tables are untrusted:
 * every read goes through ram_read(), which refuses what is not RAM.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/disas.h"
#include "qapi/hmp-internal.h"
#include "system/memory.h"

/* QEMU's defaults; global, not per monitor, as there. */
static char last_format = 'x';
static int last_size = 4;

struct hmp_expr {
    struct hmp_ctx *x;
    const char *p;
    const char *err;            /* the first error, printed by the caller */
    struct x86_cpu_state st;
    bool have_st;
};

static void expr_skip(struct hmp_expr *e)
{
    while (*e->p == ' ' || *e->p == '\t') {
        e->p++;
    }
}

static bool expr_fail(struct hmp_expr *e, const char *msg)
{
    if (!e->err) {
        e->err = msg;
    }
    return false;
}

static bool expr_reg(struct hmp_expr *e, uint64_t *v)
{
    static const struct { const char *name; int reg; } gprs[] = {
        { "eax", R_EAX }, { "ecx", R_ECX }, { "edx", R_EDX }, { "ebx", R_EBX },
        { "esp", R_ESP }, { "ebp", R_EBP }, { "esi", R_ESI }, { "edi", R_EDI },
        { "rax", R_EAX }, { "rcx", R_ECX }, { "rdx", R_EDX }, { "rbx", R_EBX },
        { "rsp", R_ESP }, { "rbp", R_EBP }, { "rsi", R_ESI }, { "rdi", R_EDI },
        { "r8", R_R8 }, { "r9", R_R9 }, { "r10", R_R10 }, { "r11", R_R11 },
        { "r12", R_R12 }, { "r13", R_R13 }, { "r14", R_R14 }, { "r15", R_R15 },
    };
    char name[16];
    unsigned n = 0;

    while ((g_ascii_isalnum(*e->p) || *e->p == '_' || *e->p == '.') && n < sizeof(name) - 1) {
        name[n++] = g_ascii_tolower(*e->p++);
    }
    name[n] = 0;
    if (!e->have_st) {
        if (!hmp_cpu_state(0, &e->st)) {
            return expr_fail(e, "unknown register");
        }
        e->have_st = true;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(gprs); i++) {
        if (!strcmp(name, gprs[i].name)) {
            *v = e->st.regs[gprs[i].reg];
            return true;
        }
    }
    if (!strcmp(name, "pc") || !strcmp(name, "eip") || !strcmp(name, "rip")) {
        /* QEMU's $pc is the linear address: CS base plus EIP. */
        *v = !strcmp(name, "pc") ? e->st.seg[S_CS].base + e->st.rip : e->st.rip;
    } else if (!strcmp(name, "eflags")) {
        *v = e->st.rflags;
    } else if (!strcmp(name, "cr0")) {
        *v = e->st.cr0;
    } else if (!strcmp(name, "cr2")) {
        *v = e->st.cr2;
    } else if (!strcmp(name, "cr3")) {
        *v = e->st.cr3;
    } else if (!strcmp(name, "cr4")) {
        *v = e->st.cr4;
    } else {
        return expr_fail(e, "unknown register");
    }
    return true;
}

static bool expr_sum(struct hmp_expr *e, uint64_t *v);

static bool expr_unary(struct hmp_expr *e, uint64_t *v)
{
    static char invalid[40];
    char *end;

    switch (*e->p) {
    case '+':
        e->p++;
        return expr_unary(e, v);
    case '-':
        e->p++;
        if (!expr_unary(e, v)) {
            return false;
        }
        *v = -*v;
        return true;
    case '~':
        e->p++;
        if (!expr_unary(e, v)) {
            return false;
        }
        *v = ~*v;
        return true;
    case '(':
        e->p++;
        if (!expr_sum(e, v)) {
            return false;
        }
        if (*e->p != ')') {
            return expr_fail(e, "')' expected");
        }
        e->p++;
        break;
    case '\'':
        if (!e->p[1]) {
            return expr_fail(e, "character constant expected");
        }
        *v = (uint8_t)e->p[1];
        e->p += 2;
        if (*e->p != '\'') {
            return expr_fail(e, "missing terminating ' character");
        }
        e->p++;
        break;
    case '$':
        e->p++;
        if (!expr_reg(e, v)) {
            return false;
        }
        break;
    case '\0':
        return expr_fail(e, "unexpected end of expression");
    default:
        errno = 0;
        *v = strtoull(e->p, &end, 0);
        if (end == e->p || *e->p == '-' || *e->p == '+' || *e->p == ' ') {
            snprintf(invalid, sizeof(invalid), "invalid char '%c' in expression", *e->p);
            return expr_fail(e, invalid);
        }
        if (errno == ERANGE) {
            return expr_fail(e, "number too large");
        }
        e->p = end;
        break;
    }
    expr_skip(e);
    return true;
}

static bool expr_prod(struct hmp_expr *e, uint64_t *v)
{
    if (!expr_unary(e, v)) {
        return false;
    }
    for (;;) {
        char op = *e->p;
        uint64_t r;

        if (op != '*' && op != '/' && op != '%') {
            return true;
        }
        e->p++;
        expr_skip(e);
        if (!expr_unary(e, &r)) {
            return false;
        }
        if (op == '*') {
            *v *= r;
        } else if (!r) {
            return expr_fail(e, "division by zero");
        } else {
            *v = op == '/' ? (int64_t)*v / (int64_t)r : (int64_t)*v % (int64_t)r;
        }
    }
}

static bool expr_logic(struct hmp_expr *e, uint64_t *v)
{
    if (!expr_prod(e, v)) {
        return false;
    }
    for (;;) {
        char op = *e->p;
        uint64_t r;

        if (op != '&' && op != '|' && op != '^') {
            return true;
        }
        e->p++;
        expr_skip(e);
        if (!expr_prod(e, &r)) {
            return false;
        }
        *v = op == '&' ? *v & r : op == '|' ? *v | r : *v ^ r;
    }
}

static bool expr_sum(struct hmp_expr *e, uint64_t *v)
{
    if (!expr_logic(e, v)) {
        return false;
    }
    for (;;) {
        char op = *e->p;
        uint64_t r;

        if (op != '+' && op != '-') {
            return true;
        }
        e->p++;
        expr_skip(e);
        if (!expr_logic(e, &r)) {
            return false;
        }
        *v = op == '+' ? *v + r : *v - r;
    }
}

/* ---- virtual to physical ---- */

#define PTE_P (1ull << 0)
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull

static bool read_pte(uint64_t gpa, unsigned size, uint64_t *pte)
{
    uint32_t v32;

    if (size == 4) {
        if (ram_read(gpa, &v32, 4) < 0) {
            return false;
        }
        *pte = GUINT32_FROM_LE(v32);
        return true;
    }
    if (ram_read(gpa, pte, 8) < 0) {
        return false;
    }
    *pte = GUINT64_FROM_LE(*pte);
    return (*pte & PTE_P) != 0;
}

/* The guest-physical address of va, or false when it is not mapped. */
static bool hmp_translate(const struct x86_cpu_state *st, uint64_t va, uint64_t *pa)
{
    uint64_t e;

    if (!(st->cr0 & CR0_PG)) {
        *pa = va;
        return true;
    }
    if (!(st->cr4 & CR4_PAE)) {
        /* SDM 4.3: 10+10+12 bits; 4 MiB pages with CR4.PSE. */
        va &= 0xffffffffu;
        if (!read_pte((st->cr3 & 0xfffff000u) + ((va >> 22) << 2), 4, &e) || !(e & PTE_P)) {
            return false;
        }
        if ((e & PTE_PS) && (st->cr4 & CR4_PSE)) {
            /* PSE-36: bits 20:13 are physical address bits 39:32. */
            *pa = (e & 0xffc00000u) | ((e & 0x1fe000ull) << 19) | (va & 0x3fffff);
            return true;
        }
        if (!read_pte((e & 0xfffff000u) + (((va >> 12) & 0x3ff) << 2), 4, &e) ||
            !(e & PTE_P)) {
            return false;
        }
        *pa = (e & 0xfffff000u) | (va & 0xfff);
        return true;
    }
    if (st->efer & EFER_LMA) {
        /* SDM 4.5: PML4 -> PDPT -> PD -> PT; bits 63:47 must be a sign extension. */
        if ((int64_t)(va << 16) >> 16 != (int64_t)va) {
            return false;
        }
        if (!read_pte((st->cr3 & PTE_ADDR) + (((va >> 39) & 0x1ff) << 3), 8, &e)) {
            return false;
        }
        if (!read_pte((e & PTE_ADDR) + (((va >> 30) & 0x1ff) << 3), 8, &e)) {
            return false;
        }
    } else {
        /* SDM 4.4: four PDPTEs at CR3[31:5]. */
        va &= 0xffffffffu;
        if (!read_pte((st->cr3 & 0xffffffe0u) + ((va >> 30) << 3), 8, &e)) {
            return false;
        }
        e &= ~PTE_PS;           /* no 1 GiB pages under PAE */
    }
    if (e & PTE_PS) {
        *pa = (e & 0x000fffffc0000000ull) | (va & 0x3fffffff);
        return true;
    }
    if (!read_pte((e & PTE_ADDR) + (((va >> 21) & 0x1ff) << 3), 8, &e)) {
        return false;
    }
    if (e & PTE_PS) {
        *pa = (e & 0x000fffffffe00000ull) | (va & 0x1fffff);
        return true;
    }
    if (!read_pte((e & PTE_ADDR) + (((va >> 12) & 0x1ff) << 3), 8, &e)) {
        return false;
    }
    *pa = (e & PTE_ADDR) | (va & 0xfff);
    return true;
}

/* Reads len bytes at va page by page (pages need not be contiguous). */
static int read_virt(const struct x86_cpu_state *st, uint64_t va, uint8_t *buf, size_t len)
{
    while (len) {
        size_t n = MIN(len, 0x1000 - (va & 0xfff));
        uint64_t pa;

        if (!hmp_translate(st, va, &pa) || ram_read(pa, buf, n) < 0) {
            return -EFAULT;
        }
        va += n;
        buf += n;
        len -= n;
    }
    return 0;
}

/* ---- the dump ---- */

static void print_char(struct hmp_ctx *x, uint8_t c)
{
    switch (c) {
    case '\'':
        hmp_puts(x, " '\\''");
        break;
    case '\\':
        hmp_puts(x, " '\\\\'");
        break;
    case '\n':
        hmp_puts(x, " '\\n'");
        break;
    case '\r':
        hmp_puts(x, " '\\r'");
        break;
    default:
        if (c >= 32 && c <= 126) {
            hmp_printf(x, " '%c'", c);
        } else {
            hmp_printf(x, " '\\x%02x'", c);
        }
        break;
    }
}

/* Reads up to len bytes at addr, stopping at the first unreadable one. */
static size_t read_some(const struct x86_cpu_state *st, bool physical, uint64_t addr,
                        uint8_t *buf, size_t len)
{
    size_t n = 0;

    if ((physical ? ram_read(addr, buf, len) : read_virt(st, addr, buf, len)) == 0) {
        return len;
    }
    while (n < len && (physical ? ram_read(addr + n, buf + n, 1)
                                : read_virt(st, addr + n, buf + n, 1)) == 0) {
        n++;
    }
    return n;
}

/*
 * "x /i": count instructions from addr, decoded in the vCPU's current mode
 * (its size letter is ignored, as in QEMU).  A byte capstone cannot decode
 * is shown as "(bad)" and skipped.
 */
static void disas_dump(struct hmp_ctx *x, bool physical, const struct x86_cpu_state *st,
                       int count, uint64_t addr)
{
    unsigned bits = (st->efer & EFER_LMA) && st->seg[S_CS].l ? 64
                    : !(st->cr0 & CR0_PE) || !st->seg[S_CS].db ? 16 : 32;

    for (; count > 0; count--) {
        g_autoptr(GString) line = g_string_new(NULL);
        uint8_t buf[15];     /* the longest x86 instruction */
        size_t n = read_some(st, physical, addr, buf, sizeof(buf));
        size_t len;

        if (!n) {
            hmp_printf(x, "0x%08" PRIx64 ": unable to read memory\n", addr);
            return;
        }
        len = x86_disas_one(line, buf, n, addr, bits);
        if (!len) {
            g_string_append_printf(line, "0x%08" PRIx64 ":  %02x%*s  (bad)\n", addr, buf[0],
                                   21, "");
            len = 1;
        }
        hmp_puts(x, line->str);
        addr += len;
    }
}

static void memory_dump(struct hmp_ctx *x, bool physical, int count, char format,
                        int size, uint64_t addr)
{
    struct x86_cpu_state st;
    int64_t len = (int64_t)size * count;
    int line = size == 1 ? 8 : 16;
    int digits = 0;

    if (!physical && !hmp_cpu_state(0, &st)) {
        hmp_puts(x, "Can not dump without CPU\n");
        return;
    }
    if (format == 'i') {
        if (physical && !hmp_cpu_state(0, &st)) {
            hmp_puts(x, "Can not dump without CPU\n");
            return;
        }
        disas_dump(x, physical, &st, count, addr);
        return;
    }
    switch (format) {
    case 'o':
        digits = (size * 8 + 2) / 3;
        break;
    case 'u':
    case 'd':
        digits = (size * 80 + 32) / 33;
        break;
    case 'c':
        size = 1;
        break;
    default:
        digits = size * 2;
        break;
    }
    while (len > 0) {
        uint8_t buf[16];
        int l = MIN(len, line);
        int ret;

        hmp_printf(x, "%016" PRIx64 ":", addr);
        ret = physical ? ram_read(addr, buf, l) : read_virt(&st, addr, buf, l);
        if (ret < 0) {
            hmp_puts(x, " Cannot access memory\n");
            return;
        }
        for (int i = 0; i + size <= l; i += size) {
            uint64_t v = 0;

            /* Guest memory is little-endian. */
            for (int b = size - 1; b >= 0; b--) {
                v = (v << 8) | buf[i + b];
            }
            switch (format) {
            case 'o':
                hmp_printf(x, " %#*" PRIo64, digits, v);
                break;
            case 'u':
                hmp_printf(x, " %*" PRIu64, digits, v);
                break;
            case 'd':
                hmp_printf(x, " %*" PRId64, digits, (int64_t)v);
                break;
            case 'c':
                print_char(x, v);
                break;
            default:
                hmp_printf(x, " 0x%0*" PRIx64, digits, v);
                break;
            }
        }
        hmp_puts(x, "\n");
        addr += l;
        len -= l;
    }
}

/* Parses "/fmt addr" and dumps; fmt as QEMU's monitor reads it. */
static void hmp_dump(struct hmp_ctx *x, const char *args, bool physical)
{
    struct hmp_expr e = { .x = x, .p = args };
    int count = 1, size = -1;
    char format = 0;
    uint64_t addr;

    expr_skip(&e);
    if (*e.p == '/') {
        e.p++;
        if (g_ascii_isdigit(*e.p)) {
            count = 0;
            while (g_ascii_isdigit(*e.p)) {
                /* A huge count just dumps until memory ends. */
                int64_t n = (int64_t)count * 10 + (*e.p++ - '0');

                count = MIN(n, 1 << 20);
            }
        }
        for (;; e.p++) {
            static const char sizes[] = "bhwgL";
            const char *f = strchr("xduoci", *e.p);
            const char *s = strchr(sizes, *e.p);

            if (!*e.p || (!f && !s)) {
                break;
            }
            if (f) {
                format = *e.p;
            } else {
                size = (int[]){ 1, 2, 4, 8, 8 }[s - sizes];
            }
        }
        if (*e.p && *e.p != ' ' && *e.p != '\t') {
            hmp_printf(x, "invalid char in format: '%c'\n", *e.p);
            hmp_try_help(x);
            return;
        }
        if (!format) {
            format = last_format;
        }
        if (format != 'i') {
            if (size < 0) {
                size = last_size;
            }
            last_size = size;
        }
        last_format = format;
    } else {
        format = last_format;
        size = format == 'i' ? -1 : last_size;
    }
    expr_skip(&e);
    if (!expr_sum(&e, &addr)) {
        hmp_printf(x, "%s\n", e.err);
        hmp_try_help(x);
        return;
    }
    if (!hmp_no_args(x, e.p)) {
        return;
    }
    memory_dump(x, physical, count, format, size, addr);
}

void hmp_x(struct hmp_ctx *x, const char *args)
{
    hmp_dump(x, args, false);
}

void hmp_xp(struct hmp_ctx *x, const char *args)
{
    hmp_dump(x, args, true);
}
