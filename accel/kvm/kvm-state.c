/*
 * Converts hyvm's x86_cpu_state to KVM's kvm_regs/kvm_sregs and back.
 *
 * Threads: the vCPU's thread, or the main thread while the vCPU is parked.
 */
#include <string.h>

#include "accel/kvm/kvm-internal.h"

static void seg_to_kvm(struct kvm_segment *k, const struct x86_segment *s)
{
    memset(k, 0, sizeof(*k));
    k->base = s->base;
    k->limit = s->limit;
    k->selector = s->selector;
    k->type = s->type;
    k->present = s->present;
    k->dpl = s->dpl;
    k->db = s->db;
    k->s = s->s;
    k->l = s->l;
    k->g = s->g;
    k->avl = s->avl;
    k->unusable = s->unusable;
}

static void seg_from_kvm(struct x86_segment *s, const struct kvm_segment *k)
{
    memset(s, 0, sizeof(*s));
    s->base = k->base;
    s->limit = k->limit;
    s->selector = k->selector;
    s->type = k->type;
    s->present = k->present;
    s->dpl = k->dpl;
    s->db = k->db;
    s->s = k->s;
    s->l = k->l;
    s->g = k->g;
    s->avl = k->avl;
    s->unusable = k->unusable;
}

static struct kvm_segment *sreg_seg(struct kvm_sregs *k, int i)
{
    struct kvm_segment *segs[S__MAX] = {
        &k->es, &k->cs, &k->ss, &k->ds, &k->fs, &k->gs, &k->ldt, &k->tr,
    };

    return segs[i];
}

/* kvm_regs' field for hyvm's register number (enum x86_reg). */
static __u64 *kvm_gpr(struct kvm_regs *r, int reg)
{
    __u64 *fields[16] = {
        &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
        &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
    };

    return fields[reg];
}

/* x87/SSE state; at reset this gives the guest FCW 037Fh and MXCSR 1F80h,
 * which a KVM vCPU does not start with on its own. */
static int put_fpu(int vcpu_fd, const struct x86_fpu_state *f)
{
    struct kvm_fpu fpu = {
        .fcw = f->fcw, .fsw = f->fsw, .ftwx = f->ftw, .mxcsr = f->mxcsr,
    };

    for (int i = 0; i < 8; i++) {
        memcpy(&fpu.fpr[i][0], &f->st[i].mant, 8);
        memcpy(&fpu.fpr[i][8], &f->st[i].exp, 2);
    }
    for (int i = 0; i < 16; i++) {
        memcpy(&fpu.xmm[i][0], &f->xmm[i].lo, 8);
        memcpy(&fpu.xmm[i][8], &f->xmm[i].hi, 8);
    }
    return kvm_vcpu_set_fpu(vcpu_fd, &fpu);
}

int kvm_vcpu_put_state(int vcpu_fd, const struct x86_cpu_state *st)
{
    struct kvm_regs regs = { 0 };
    struct kvm_sregs sregs;
    int ret;

    /* Start from KVM's own sregs to keep the interrupt bitmap it tracks. */
    ret = kvm_vcpu_get_sregs(vcpu_fd, &sregs);
    if (ret < 0) {
        return ret;
    }
    for (int i = 0; i < 16; i++) {
        *kvm_gpr(&regs, i) = st->regs[i];
    }
    regs.rip = st->rip;
    regs.rflags = st->rflags;
    for (int i = 0; i < S__MAX; i++) {
        seg_to_kvm(sreg_seg(&sregs, i), &st->seg[i]);
    }
    sregs.gdt.base = st->gdt.base;
    sregs.gdt.limit = st->gdt.limit;
    sregs.idt.base = st->idt.base;
    sregs.idt.limit = st->idt.limit;
    sregs.cr0 = st->cr0;
    sregs.cr2 = st->cr2;
    sregs.cr3 = st->cr3;
    sregs.cr4 = st->cr4;
    sregs.cr8 = st->cr8;
    sregs.efer = st->efer;
    sregs.apic_base = st->apic_base;
    memset(sregs.interrupt_bitmap, 0, sizeof(sregs.interrupt_bitmap));
    ret = kvm_vcpu_set_sregs(vcpu_fd, &sregs);
    if (ret < 0) {
        return ret;
    }
    ret = put_fpu(vcpu_fd, &st->fpu);
    if (ret < 0) {
        return ret;
    }
    return kvm_vcpu_set_regs(vcpu_fd, &regs);
}

/*
 * What only the monitor shows: x87/SSE, debug registers, halted.  A KVM
 * that refuses one of these leaves the power-on values, so the dump is
 * still complete.
 */
static void fetch_extra(int vcpu_fd, struct x86_cpu_state *st)
{
    struct kvm_fpu fpu;
    struct kvm_debugregs dbg;
    struct kvm_mp_state mp;

    st->dr[6] = 0xffff0ff0;
    st->dr[7] = 0x400;
    st->fpu.fcw = 0x37f;
    st->fpu.mxcsr = 0x1f80;
    if (kvm_vcpu_get_fpu(vcpu_fd, &fpu) == 0) {
        st->fpu.fcw = fpu.fcw;
        st->fpu.fsw = fpu.fsw;
        st->fpu.ftw = fpu.ftwx;
        st->fpu.mxcsr = fpu.mxcsr;
        for (int i = 0; i < 8; i++) {
            /* fpr[i]: 64-bit significand then the 16-bit sign+exponent. */
            memcpy(&st->fpu.st[i].mant, &fpu.fpr[i][0], 8);
            memcpy(&st->fpu.st[i].exp, &fpu.fpr[i][8], 2);
        }
        for (int i = 0; i < 16; i++) {
            memcpy(&st->fpu.xmm[i].lo, &fpu.xmm[i][0], 8);
            memcpy(&st->fpu.xmm[i].hi, &fpu.xmm[i][8], 8);
        }
    }
    if (kvm_vcpu_get_debugregs(vcpu_fd, &dbg) == 0) {
        for (int i = 0; i < 4; i++) {
            st->dr[i] = dbg.db[i];
        }
        st->dr[6] = dbg.dr6;
        st->dr[7] = dbg.dr7;
    }
    if (kvm_vcpu_get_mp_state(vcpu_fd, &mp) == 0) {
        st->halted = mp.mp_state == KVM_MP_STATE_HALTED;
    }
}

int kvm_vcpu_fetch_state(int vcpu_fd, struct x86_cpu_state *st)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    int ret;

    ret = kvm_vcpu_get_regs(vcpu_fd, &regs);
    if (ret < 0) {
        return ret;
    }
    ret = kvm_vcpu_get_sregs(vcpu_fd, &sregs);
    if (ret < 0) {
        return ret;
    }
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < 16; i++) {
        st->regs[i] = *kvm_gpr(&regs, i);
    }
    st->rip = regs.rip;
    st->rflags = regs.rflags;
    for (int i = 0; i < S__MAX; i++) {
        seg_from_kvm(&st->seg[i], sreg_seg(&sregs, i));
    }
    st->gdt.base = sregs.gdt.base;
    st->gdt.limit = sregs.gdt.limit;
    st->idt.base = sregs.idt.base;
    st->idt.limit = sregs.idt.limit;
    st->cr0 = sregs.cr0;
    st->cr2 = sregs.cr2;
    st->cr3 = sregs.cr3;
    st->cr4 = sregs.cr4;
    st->cr8 = sregs.cr8;
    st->efer = sregs.efer;
    st->apic_base = sregs.apic_base;
    fetch_extra(vcpu_fd, st);
    return 0;
}
