/*
 * The native side of the differential tester: runs each case on the host
 * CPU in a forked child (DESIGN.md, "The software CPU": correctness is
 * judged against hardware).
 *
 * The child maps the code page (through a memfd: an executable view at
 * DIFF_CODE and a writable alias elsewhere, so the code page is read-only
 * to the instruction as it is to the software CPU) and the data area, with
 * inaccessible guard pages around both.  For each case it writes the bytes,
 * fills the data, loads the x87/SSE state (FXRSTOR), all 16 GPRs and
 * RFLAGS in a small trampoline and jumps to the instruction.  The
 * instruction ends in one of two ways, both a signal on the alternate stack:
 *   - the int3 after it (or, for a branch, the int3 where it landed; or a
 *     fetch fault where it landed outside the page), or
 *   - an exception of its own: the kernel's trap number in the signal frame
 *     is the vector (SIGFPE #DE/#MF/#XM, SIGSEGV #GP/#PF, SIGBUS #SS/#AC,
 *     SIGILL #UD).
 * The handler copies the registers out of the ucontext (the x87/SSE state
 * out of the frame's FXSAVE area; a handler starts with a fresh FPU state,
 * so nothing of a case's leaks into the loop) and siglongjmps back to the
 * loop.  32-bit cases run in compatibility mode: the trampoline
 * far-jumps to the kernel's 32-bit user code segment (0x23), which Linux
 * keeps for 32-bit processes; the signal comes back in 64-bit mode.  16-bit
 * cases run in 16-bit protected mode: the child puts a 16-bit code segment
 * (base DIFF_CODE) and a 16-bit data segment (base DIFF_DATA, limit the
 * data area) in its LDT with modify_ldt(2), loads DS/ES/SS with the data
 * one and far-jumps to the code one.  RIP is then an offset in CS.
 *
 * Cases and results live in a shared mapping; a pipe carries "run n" and
 * "done".  A case that kills or hangs the child is reported DIFF_CRASH and a
 * new child carries on with the next case.
 *
 * Threads: the parent's calls come from the test's one thread.  The child is
 * single-threaded; its globals below are written by the loop and read by
 * the signal handler, which runs on the same thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>
#include <asm/ldt.h>

#include "tests/diff/diff.h"

#define BATCH 128
#define USER32_CS 0x23      /* Linux's __USER32_CS */
#define USER_DS 0x2b        /* Linux's __USER_DS */
#define ALTSTACK_SIZE (256 * 1024)

struct shared {
    volatile uint32_t progress;     /* index of the case the child is in */
    volatile uint32_t ldt_ok;       /* the child could set up its LDT */
    uint32_t count;
    struct diff_case cases[BATCH];
    struct diff_result results[BATCH];
};

struct diff_native {
    struct shared *sh;
    pid_t pid;
    int to_child, from_child;
};

/* The register image the trampoline loads: regs[16], rflags, and at
 * offset 192 the FXSAVE image (SDM vol. 1, 10.5.1) of the x87/MMX/SSE
 * state, which FXRSTOR needs 16-byte aligned. */
struct entry_regs {
    uint64_t regs[16];
    uint64_t rflags;
    uint8_t fx[512] __attribute__((aligned(64)));
};
_Static_assert(offsetof(struct entry_regs, fx) == 192, "the trampoline's offset");

/*
 * Trampolines.  They never return: the case ends in the signal handler,
 * which siglongjmps back.  diff_native_target/diff_native_far hold where
 * to jump, so that no register is needed once all 16 are loaded.
 */
__asm__(
    ".pushsection .data\n"
    ".p2align 3\n"
    "diff_native_target: .quad 0\n"
    "diff_native_far: .long 0\n .word 0\n .word 0\n"
    "diff_native_far16: .long 0\n .word 0\n .word 0\n"
    ".popsection\n"
);

#define LOAD_ALL \
    "  fxrstor64 192(%rdi)\n" \
    "  pushq 128(%rdi)\n" \
    "  popfq\n" \
    "  movq 0(%rdi), %rax\n" \
    "  movq 8(%rdi), %rcx\n" \
    "  movq 16(%rdi), %rdx\n" \
    "  movq 24(%rdi), %rbx\n" \
    "  movq 32(%rdi), %rsp\n" \
    "  movq 40(%rdi), %rbp\n" \
    "  movq 48(%rdi), %rsi\n" \
    "  movq 64(%rdi), %r8\n" \
    "  movq 72(%rdi), %r9\n" \
    "  movq 80(%rdi), %r10\n" \
    "  movq 88(%rdi), %r11\n" \
    "  movq 96(%rdi), %r12\n" \
    "  movq 104(%rdi), %r13\n" \
    "  movq 112(%rdi), %r14\n" \
    "  movq 120(%rdi), %r15\n" \
    "  movq 56(%rdi), %rdi\n"

__asm__(
    ".text\n"
    ".p2align 4\n"
    ".globl diff_native_go64\n"
    ".hidden diff_native_go64\n"
    "diff_native_go64:\n"
    /* A 16-bit case leaves its LDT data selector in SS, which signal
     * delivery keeps; the comparison of SS wants Linux's own back. */
    "  movl $0x2b, %eax\n"
    "  movl %eax, %ds\n"
    "  movl %eax, %es\n"
    "  movl %eax, %ss\n"
    LOAD_ALL
    "  jmp *diff_native_target(%rip)\n"
    ".p2align 4\n"
    ".globl diff_native_go32\n"
    ".hidden diff_native_go32\n"
    "diff_native_go32:\n"
    /* Compatibility mode uses DS/ES (SDM vol. 3, 3.4.4), which a 64-bit
     * Linux process leaves null. */
    "  movl $0x2b, %eax\n"
    "  movl %eax, %ds\n"
    "  movl %eax, %es\n"
    "  movl %eax, %ss\n"
    LOAD_ALL
    "  ljmpl *diff_native_far(%rip)\n"
    ".p2align 4\n"
    ".globl diff_native_go16\n"
    ".hidden diff_native_go16\n"
    "diff_native_go16:\n"
    /* SS too: its base and B bit matter once CS is 16-bit; in 64-bit
     * mode, until the jump, they are ignored (SDM vol. 3, 3.4.4). */
    "  movl $0x0f, %eax\n"
    "  movl %eax, %ds\n"
    "  movl %eax, %es\n"
    "  movl %eax, %ss\n"
    LOAD_ALL
    "  ljmpl *diff_native_far16(%rip)\n"
);

extern uint64_t diff_native_target;
extern uint8_t diff_native_far[8];
extern uint8_t diff_native_far16[8];
void diff_native_go64(const struct entry_regs *r) __attribute__((noreturn));
void diff_native_go32(const struct entry_regs *r) __attribute__((noreturn));
void diff_native_go16(const struct entry_regs *r) __attribute__((noreturn));

/* ---- the child ---- */

static sigjmp_buf child_jb;
static volatile sig_atomic_t child_armed;
static struct diff_result *child_res;
static const struct diff_case *child_case;
static uint8_t *child_code_rw;         /* writable alias of DIFF_CODE */
static struct entry_regs child_entry;

static bool in_insn(const struct diff_case *c, uint64_t a)
{
    return a >= DIFF_INSN_ADDR && a < DIFF_INSN_ADDR + c->len;
}

static void child_signal(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    struct diff_result *r = child_res;
    const struct diff_case *c = child_case;
    uint64_t rip = (uint64_t)g[REG_RIP], lin;
    unsigned trap = (unsigned)g[REG_TRAPNO];

    if (!child_armed)
        _exit(100 + sig);
    child_armed = 0;

    r->regs[0] = (uint64_t)g[REG_RAX];
    r->regs[1] = (uint64_t)g[REG_RCX];
    r->regs[2] = (uint64_t)g[REG_RDX];
    r->regs[3] = (uint64_t)g[REG_RBX];
    r->regs[4] = (uint64_t)g[REG_RSP];
    r->regs[5] = (uint64_t)g[REG_RBP];
    r->regs[6] = (uint64_t)g[REG_RSI];
    r->regs[7] = (uint64_t)g[REG_RDI];
    r->regs[8] = (uint64_t)g[REG_R8];
    r->regs[9] = (uint64_t)g[REG_R9];
    r->regs[10] = (uint64_t)g[REG_R10];
    r->regs[11] = (uint64_t)g[REG_R11];
    r->regs[12] = (uint64_t)g[REG_R12];
    r->regs[13] = (uint64_t)g[REG_R13];
    r->regs[14] = (uint64_t)g[REG_R14];
    r->regs[15] = (uint64_t)g[REG_R15];
    r->rflags = (uint64_t)g[REG_EFL];
    r->error_code = (uint32_t)g[REG_ERR];
    /* cs, gs, fs and (when UC_SIGCONTEXT_SS, 0x2, is set) ss, 16 bits each */
    r->cs = (uint16_t)g[REG_CSGSFS];
    r->ss_valid = (uc->uc_flags & 0x2) != 0;
    r->ss = r->ss_valid ? (uint16_t)((uint64_t)g[REG_CSGSFS] >> 48) : 0;
    /* The x87/SSE state at the signal: the kernel saved it in the frame
     * in FXSAVE layout (the legacy area of its XSAVE image). */
    if (uc->uc_mcontext.fpregs) {
        const struct _libc_fpstate *fp = uc->uc_mcontext.fpregs;
        struct diff_fpu *f = &r->fpu;

        f->fcw = fp->cwd;
        f->fsw = fp->swd;
        f->ftw = (uint8_t)fp->ftw;
        f->mxcsr = fp->mxcsr;
        for (unsigned i = 0; i < 8; i++) {
            memcpy(&f->st[i].mant, fp->_st[i].significand, 8);
            f->st[i].exp = fp->_st[i].exponent;
        }
        memcpy(f->xmm, fp->_xmm, sizeof(f->xmm));
        r->fpu_valid = true;
    }
    /* RIP is an offset in CS; the 16-bit CS is the only one not based at 0. */
    lin = r->cs == DIFF_SEL16_CS ? DIFF_CODE + rip : rip;
    r->cr2 = 0;
    r->vector = 0;

    if (sig == SIGTRAP && trap == 3 && lin - 1 >= DIFF_CODE &&
        lin - 1 < DIFF_CODE + DIFF_CODE_SIZE &&
        child_code_rw[lin - 1 - DIFF_CODE] == 0xCC && !in_insn(c, lin - 1)) {
        /* Stopped on one of our int3s: the instruction completed. */
        r->outcome = DIFF_DONE;
        r->rip = rip - 1;
    } else if (sig == SIGSEGV && trap == 14 && (uint64_t)si->si_addr == lin &&
               !in_insn(c, lin)) {
        /* A branch left the code page: the instruction completed and the
         * fetch at its target faulted. */
        r->outcome = DIFF_DONE;
        r->rip = rip;
    } else {
        r->outcome = DIFF_EXCEPTION;
        r->vector = (uint8_t)trap;
        r->rip = rip;
        if (trap == 14)
            r->cr2 = (uint64_t)si->si_addr;
    }
    siglongjmp(child_jb, 1);
}

/* The FXSAVE image of the case's starting state (FOP, FIP, FDP zero);
 * a case that does not use the x87/SSE state gets the one FNINIT and the
 * reset MXCSR give. */
static void fx_image(const struct diff_case *c, uint8_t *fx)
{
    struct diff_fpu init = { .fcw = 0x37f, .mxcsr = 0x1f80 };

    diff_fx_image(c->fpu_on ? &c->fpu : &init, fx);
}

static void child_run_case(const struct diff_case *c, struct diff_result *r)
{
    memset(child_code_rw + DIFF_INSN_OFF, 0xCC, 32);
    memcpy(child_code_rw + DIFF_INSN_OFF, c->bytes,
           c->len < DIFF_MAX_LEN ? c->len : DIFF_MAX_LEN);
    diff_fill_data(c, (uint8_t *)(uintptr_t)DIFF_DATA);
    memcpy(child_entry.regs, c->regs, sizeof(child_entry.regs));
    child_entry.rflags = (c->rflags & DIFF_FLAGS_MASK) | DIFF_FLAGS_FIXED;
    fx_image(c, child_entry.fx);
    child_case = c;
    child_res = r;
    memset(r, 0, offsetof(struct diff_result, data));

    if (sigsetjmp(child_jb, 0) == 0) {
        child_armed = 1;
        if (c->mode == DIFF_MODE32)
            diff_native_go32(&child_entry);
        if (c->mode == DIFF_MODE16)
            diff_native_go16(&child_entry);
        diff_native_go64(&child_entry);
    }
    /* Back from the handler: DF and AC may be whatever the case left. */
    __asm__ volatile("pushfq\n\tandq $~0x40500, (%%rsp)\n\tpopfq" ::: "memory", "cc");
    memcpy(r->data, (const void *)(uintptr_t)DIFF_DATA, DIFF_DATA_SIZE);
}

static void *map_fixed(uint64_t addr, size_t len, int prot, int flags, int fd)
{
    void *p = mmap((void *)(uintptr_t)addr, len, prot,
                   flags | MAP_FIXED_NOREPLACE, fd, 0);

    if (p == MAP_FAILED || p != (void *)(uintptr_t)addr) {
        fprintf(stderr, "diff-native: cannot map %#llx: %s\n",
                (unsigned long long)addr, strerror(errno));
        _exit(2);
    }
    return p;
}

/* The two 16-bit segments of 16-bit mode cases (asm/ldt.h's user_desc:
 * present, DPL 3, "useable" is the AVL bit). */
static bool child_setup_ldt(void)
{
    struct user_desc code = {
        .entry_number = DIFF_SEL16_CS >> 3, .base_addr = (uint32_t)DIFF_CODE,
        .limit = 0xffff, .seg_32bit = 0, .contents = MODIFY_LDT_CONTENTS_CODE,
        .read_exec_only = 0, .limit_in_pages = 0, .seg_not_present = 0, .useable = 1,
    };
    struct user_desc data = {
        .entry_number = DIFF_SEL16_DS >> 3, .base_addr = (uint32_t)DIFF_DATA,
        .limit = DIFF_DATA_SIZE - 1, .seg_32bit = 0, .contents = MODIFY_LDT_CONTENTS_DATA,
        .read_exec_only = 0, .limit_in_pages = 0, .seg_not_present = 0, .useable = 1,
    };

    return syscall(SYS_modify_ldt, 1, &code, sizeof(code)) == 0 &&
           syscall(SYS_modify_ldt, 1, &data, sizeof(data)) == 0;
}

static void child_setup(struct shared *sh)
{
    static const int sigs[] = { SIGTRAP, SIGILL, SIGFPE, SIGSEGV, SIGBUS };
    struct sigaction sa;
    stack_t ss;
    int fd;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    fd = memfd_create("hyvm-diff-code", 0);
    if (fd < 0 || ftruncate(fd, DIFF_CODE_SIZE) < 0)
        _exit(2);
    child_code_rw = mmap(NULL, DIFF_CODE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (child_code_rw == MAP_FAILED)
        _exit(2);
    memset(child_code_rw, 0xCC, DIFF_CODE_SIZE);
    map_fixed(DIFF_CODE - 0x1000, 0x1000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    map_fixed(DIFF_CODE, DIFF_CODE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd);
    map_fixed(DIFF_CODE + DIFF_CODE_SIZE, 0x1000, PROT_NONE,
              MAP_PRIVATE | MAP_ANONYMOUS, -1);
    map_fixed(DIFF_DATA - 0x1000, 0x1000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
    map_fixed(DIFF_DATA, DIFF_DATA_SIZE, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS, -1);
    map_fixed(DIFF_DATA + DIFF_DATA_SIZE, 0x1000, PROT_NONE,
              MAP_PRIVATE | MAP_ANONYMOUS, -1);
    close(fd);

    ss.ss_sp = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ss.ss_sp == MAP_FAILED)
        _exit(2);
    ss.ss_size = ALTSTACK_SIZE;
    ss.ss_flags = 0;
    if (sigaltstack(&ss, NULL) < 0)
        _exit(2);

    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = child_signal;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);

    diff_native_target = DIFF_INSN_ADDR;
    sh->ldt_ok = child_setup_ldt();
    {
        uint32_t off16 = DIFF_INSN_OFF;
        uint16_t sel16 = DIFF_SEL16_CS;

        memcpy(diff_native_far16, &off16, 4);
        memcpy(diff_native_far16 + 4, &sel16, 2);
    }
    {
        uint32_t off = (uint32_t)DIFF_INSN_ADDR;
        uint16_t sel = USER32_CS;

        memcpy(diff_native_far, &off, 4);
        memcpy(diff_native_far + 4, &sel, 2);
    }
}

static void child_main(struct shared *sh, int in, int out)
{
    uint32_t n;

    child_setup(sh);
    while (read(in, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
        for (uint32_t i = 0; i < n && i < BATCH; i++) {
            sh->progress = i;
            child_run_case(&sh->cases[i], &sh->results[i]);
        }
        sh->progress = n;
        if (write(out, &n, sizeof(n)) != (ssize_t)sizeof(n))
            break;
    }
    _exit(0);
}

/* ---- the parent ---- */

static uint32_t native_batch(struct diff_native *n, uint32_t count);

static void native_stop(struct diff_native *n)
{
    if (n->pid > 0) {
        kill(n->pid, SIGKILL);
        waitpid(n->pid, NULL, 0);
        n->pid = 0;
    }
    if (n->to_child >= 0)
        close(n->to_child);
    if (n->from_child >= 0)
        close(n->from_child);
    n->to_child = n->from_child = -1;
}

static int native_start(struct diff_native *n)
{
    int p1[2], p2[2];

    if (pipe2(p1, O_CLOEXEC) < 0)
        return -errno;
    if (pipe2(p2, O_CLOEXEC) < 0) {
        close(p1[0]);
        close(p1[1]);
        return -errno;
    }
    fflush(NULL);
    n->pid = fork();
    if (n->pid < 0) {
        n->pid = 0;
        return -errno;
    }
    if (n->pid == 0) {
        close(p1[1]);
        close(p2[0]);
        child_main(n->sh, p1[0], p2[1]);
    }
    close(p1[0]);
    close(p2[1]);
    n->to_child = p1[1];
    n->from_child = p2[0];
    return 0;
}

struct diff_native *diff_native_new(const char **why)
{
    struct diff_native *n = calloc(1, sizeof(*n));

    if (!n) {
        *why = "out of memory";
        return NULL;
    }
    n->to_child = n->from_child = -1;
    n->sh = mmap(NULL, sizeof(struct shared), PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (n->sh == MAP_FAILED) {
        free(n);
        *why = "cannot map the shared area";
        return NULL;
    }
    if (native_start(n) < 0) {
        munmap(n->sh, sizeof(struct shared));
        free(n);
        *why = "cannot fork";
        return NULL;
    }
    /* One nop: if the child cannot map its pages or run code there, say
     * so once instead of reporting every case as a crash. */
    memset(&n->sh->cases[0], 0, sizeof(n->sh->cases[0]));
    n->sh->cases[0].bytes[0] = 0x90;
    n->sh->cases[0].len = 1;
    n->sh->cases[0].mode = DIFF_MODE64;
    if (native_batch(n, 1) != 1 || n->sh->results[0].outcome != DIFF_DONE) {
        diff_native_free(n);
        *why = "the native child cannot map or run its pages at 0x10000000";
        return NULL;
    }
    return n;
}

bool diff_native_has_mode16(const struct diff_native *n)
{
    return n && n->sh->ldt_ok;
}

void diff_native_free(struct diff_native *n)
{
    if (!n)
        return;
    native_stop(n);
    munmap(n->sh, sizeof(struct shared));
    free(n);
}

/*
 * Runs sh->cases[0..count) in the child; returns the index of the case
 * that crashed it, or count.  A case counts as hung when the child makes
 * no progress for a second.
 */
static uint32_t native_batch(struct diff_native *n, uint32_t count)
{
    uint32_t last = UINT32_MAX, reply;

    n->sh->progress = 0;
    if (n->pid == 0 && native_start(n) < 0)
        return 0;
    if (write(n->to_child, &count, sizeof(count)) != (ssize_t)sizeof(count))
        goto dead;
    for (;;) {
        struct pollfd pfd = { .fd = n->from_child, .events = POLLIN };
        int rc = poll(&pfd, 1, 1000);

        if (rc < 0 && errno == EINTR)
            continue;
        if (rc > 0) {
            if (read(n->from_child, &reply, sizeof(reply)) == (ssize_t)sizeof(reply))
                return count;
            goto dead;
        }
        if (n->sh->progress == last)
            goto dead;
        last = n->sh->progress;
    }
dead:
    last = n->sh->progress;
    native_stop(n);
    return last < count ? last : 0;
}

void diff_native_run(struct diff_native *n, const struct diff_case *cases,
                     struct diff_result *results, unsigned count)
{
    unsigned done = 0;

    while (done < count) {
        uint32_t k = count - done < BATCH ? count - done : BATCH;
        uint32_t got;

        memcpy(n->sh->cases, cases + done, k * sizeof(*cases));
        got = native_batch(n, k);
        memcpy(results + done, n->sh->results, got * sizeof(*results));
        done += got;
        if (got < k) {
            memset(&results[done], 0, offsetof(struct diff_result, data));
            results[done].outcome = DIFF_CRASH;
            done++;
        }
    }
}
