/*
 * GDT, IDT, TSS, exception dispatch and reporting for the architecture
 * guests (see x86.h).
 */
#include "x86.h"

#ifdef __x86_64__
struct idt_gate {
    uint16_t off0, sel;
    uint8_t ist, type;
    uint16_t off1;
    uint32_t off2, res;
} __attribute__((packed));
#else
struct idt_gate {
    uint16_t off0, sel;
    uint8_t zero, type;
    uint16_t off1;
} __attribute__((packed));
#endif

static uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(16)));
static struct idt_gate idt[256] __attribute__((aligned(16)));
struct tss_area tss_area __attribute__((aligned(128)));
volatile struct exc_info exc;
static exc_handler_t handlers[256];
extern int catch_armed;
extern uint8_t isr_stubs[];
ulong user_fn, user_arg, user_rflags;
const char *test_name = "guest";
static unsigned passed, failed, skipped;

void exc_dispatch(struct exc_frame *f);
__attribute__((noreturn)) void exc_longjmp(int vector);
void user_enter(ulong);

struct desc_ptr {
    uint16_t limit;
    ulong base;
} __attribute__((packed));

uint64_t seg_desc(uint32_t base, uint32_t limit, unsigned access, unsigned flags)
{
    return (limit & 0xffff) | ((uint64_t)(base & 0xffffff) << 16) |
           ((uint64_t)(access & 0xff) << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
           ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

void set_gdt_entry(unsigned sel, uint64_t desc)
{
    gdt[(sel >> 3) % GDT_ENTRIES] = desc;
}

uint64_t get_gdt_entry(unsigned sel)
{
    return gdt[(sel >> 3) % GDT_ENTRIES];
}

ulong isr_stub(unsigned vec)
{
    return (ulong)isr_stubs + 16 * (vec & 0xff);
}

void set_idt_gate(unsigned vec, ulong addr, unsigned sel, unsigned type, unsigned dpl,
                  unsigned ist, int present)
{
    struct idt_gate *g = &idt[vec & 0xff];

    g->off0 = addr & 0xffff;
    g->sel = sel;
    g->type = (present ? 0x80 : 0) | (dpl & 3) << 5 | (type & 0xf);
    g->off1 = (addr >> 16) & 0xffff;
#ifdef __x86_64__
    g->ist = ist & 7;
    g->off2 = addr >> 32;
    g->res = 0;
#else
    g->zero = 0;
    (void)ist;
#endif
}

void reset_idt_gate(unsigned vec)
{
    set_idt_gate(vec, isr_stub(vec), KCS, 0xe, vec == USER_RET_VEC ? 3 : 0, 0, 1);
}

void set_handler(unsigned vec, exc_handler_t h)
{
    handlers[vec & 0xff] = h;
}

static void load_tss_descriptor(void)
{
    ulong base = (ulong)&tss_area;

    /* Type 9: an available 32-bit (64-bit in long mode) TSS. */
    set_gdt_entry(TSS_SEL, seg_desc(base, sizeof(tss_area) - 1, 0x89, 0));
#ifdef __x86_64__
    set_gdt_entry(TSS_SEL + 8, (uint64_t)base >> 32);
#endif
    __asm__ volatile("ltr %w0" : : "r"(TSS_SEL));
}

static void setup_tss(void)
{
    memset(&tss_area, 0, sizeof(tss_area));
#ifdef __x86_64__
    tss_area.tss.rsp0 = (ulong)ring0_stack_top;
    tss_area.tss.ist[0] = (ulong)ist1_stack_top;
    tss_area.tss.ist[1] = (ulong)ist2_stack_top;
#else
    tss_area.tss.esp0 = (ulong)ring0_stack_top;
    tss_area.tss.ss0 = KDS;
#endif
    tss_area.tss.iomap = offsetof(struct tss_area, iomap);
    /* Every port denied at CPL > IOPL; the byte after the map is all ones (vol. 1, 19.5.2). */
    memset(tss_area.iomap, 0xff, sizeof(tss_area.iomap));
    load_tss_descriptor();
}

void x86_setup(void)
{
    struct desc_ptr gdtr = { sizeof(gdt) - 1, (ulong)gdt };
    struct desc_ptr idtr = { sizeof(idt) - 1, (ulong)idt };

    memset(gdt, 0, sizeof(gdt));
#ifdef __x86_64__
    set_gdt_entry(KCS, 0x00af9a000000ffffull);
    set_gdt_entry(UCS64, 0x00affa000000ffffull);
#else
    set_gdt_entry(KCS, 0x00cf9a000000ffffull);
    set_gdt_entry(UCS64, 0x00cffa000000ffffull);
#endif
    set_gdt_entry(KDS, 0x00cf92000000ffffull);
    set_gdt_entry(UCS32, 0x00cffa000000ffffull);
    set_gdt_entry(UDS, 0x00cff2000000ffffull);
    set_gdt_entry(UDS64, 0x00cff2000000ffffull);
    set_gdt_entry(KCS32, 0x00cf9a000000ffffull);
    __asm__ volatile("lgdt %0" : : "m"(gdtr));
#ifdef __x86_64__
    __asm__ volatile("pushq %0\n\tlea 1f(%%rip), %%rax\n\tpush %%rax\n\tlretq\n1:\n\t"
                     "mov %1, %%eax\n\tmov %%eax, %%ds\n\tmov %%eax, %%es\n\t"
                     "mov %%eax, %%ss\n\txor %%eax, %%eax\n\tmov %%eax, %%fs\n\t"
                     "mov %%eax, %%gs"
                     : : "i"(KCS), "i"(KDS) : "rax", "memory");
#else
    __asm__ volatile("ljmp %0, $1f\n1:\n\tmov %1, %%eax\n\tmov %%eax, %%ds\n\t"
                     "mov %%eax, %%es\n\tmov %%eax, %%ss\n\tmov %%eax, %%fs\n\t"
                     "mov %%eax, %%gs"
                     : : "i"(KCS), "i"(KDS) : "eax", "memory");
#endif
    for (unsigned v = 0; v < 256; v++) {
        reset_idt_gate(v);
    }
    __asm__ volatile("lidt %0" : : "m"(idtr));
    setup_tss();
}

void exc_dispatch(struct exc_frame *f)
{
    unsigned v = f->vector & 0xff;

    exc.vector = v;
    exc.error = f->error;
    exc.rip = f->rip;
    exc.cs = f->cs & 0xffff;
    exc.rflags = f->rflags;
#ifdef __x86_64__
    exc.rsp = f->rsp;
    exc.ss = f->ss & 0xffff;
#else
    /* SS:ESP are there after a change to CPL 0, from CPL 3 or virtual-8086 mode. */
    {
        int outer = (f->cs & 3) || (f->rflags & (1ul << 17));

        exc.rsp = outer ? f->rsp : 0;
        exc.ss = outer ? (f->ss & 0xffff) : 0;
    }
#endif
    if (v == 14) {
        exc.cr2 = read_cr2();
    }
    exc.frame = (ulong)&f->rip;
    {
        ulong ss;

        __asm__ volatile("mov %%ss, %0" : "=r"(ss));
        exc.handler_ss = ss & 0xffff;
    }
    exc.count++;
    if (handlers[v]) {
        handlers[v](f);
        return;
    }
    if (catch_armed) {
        catch_armed = 0;
        exc_longjmp(v);
    }
    printf("%s: unexpected exception %u, error 0x%lx at %lx:%lx, rflags %lx\n", test_name, v,
           (unsigned long)f->error, (unsigned long)f->cs, (unsigned long)f->rip,
           (unsigned long)f->rflags);
    exit(0x7d);
}

int run_user(void (*fn)(ulong), ulong arg)
{
    user_fn = (ulong)fn;
    user_arg = arg;
    return exc_catch(user_enter, 0);
}

static uint32_t msr_idx;
static uint64_t msr_val;

static void do_rdmsr(ulong a)
{
    msr_val = rdmsr(msr_idx);
}

static void do_wrmsr(ulong a)
{
    wrmsr(msr_idx, msr_val);
}

int rdmsr_safe(uint32_t idx, uint64_t *v)
{
    int r;

    msr_idx = idx;
    r = exc_catch(do_rdmsr, 0);
    if (r < 0) {
        *v = msr_val;
        return 0;
    }
    return r;
}

int wrmsr_safe(uint32_t idx, uint64_t v)
{
    int r;

    msr_idx = idx;
    msr_val = v;
    r = exc_catch(do_wrmsr, 0);
    return r < 0 ? 0 : r;
}

int quirks;

void x86_parse_args(const struct mb_info *mbi)
{
    char buf[8];

    quirks = mb_cmdline_arg(mbi, "qemu", buf, sizeof(buf)) != NULL;
}

int qemu_differs(const char *what)
{
    if (quirks) {
        report_skip("%s (QEMU differs from the SDM)", what);
    }
    return quirks;
}

static void vreport(const char *what, const char *fmt, va_list ap)
{
    printf("%s: %s: ", test_name, what);
    vprintf(fmt, ap);
    putchar('\n');
}

int report(int ok, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(ok ? "PASS" : "FAIL", fmt, ap);
    va_end(ap);
    if (ok) {
        passed++;
    } else {
        failed++;
    }
    return ok;
}

void report_skip(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("SKIP", fmt, ap);
    va_end(ap);
    skipped++;
}

int report_summary(void)
{
    printf("%s: %u passed, %u failed, %u skipped\n", test_name, passed, failed, skipped);
    return failed > 0x7c ? 0x7c : failed;
}
