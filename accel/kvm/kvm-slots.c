/*
 * KVM's memory slots: the RAM regions at start-up, then the flat view of
 * system/memory-map.c whenever a window changes (the BIOS ROM as a
 * read-only slot, the PAM ranges of -M pc as RAM, read-only RAM or ROM).
 * A write to a KVM_MEM_READONLY slot leaves the guest as an MMIO exit; the
 * dispatch finds nothing there and drops it, as the ROM would.
 *
 * A slot that changes is deleted before its successor is added (KVM
 * refuses overlapping slots); a vCPU touching the range in between takes
 * an MMIO exit for it.
 *
 * Threads: add on the main thread at start-up; the sync with the big lock
 * held, from a vCPU's config write or from a reset with the vCPUs parked.
 */
#include <errno.h>
#include <string.h>

#include "accel/kvm/kvm-internal.h"
#include "system/error.h"
#include "system/log.h"
#include "system/memory.h"

#define KVM_SLOTS_TRACKED 64

struct kvm_slot {
    bool used;
    struct mem_range r;
};

static struct kvm_slot slots[KVM_SLOTS_TRACKED];
static int slots_vm_fd = -1;
static unsigned slots_max;
static bool slots_readonly_ok;

void kvm_slots_init(int kvm_fd, int vm_fd, unsigned max_slots)
{
    memset(slots, 0, sizeof(slots));
    slots_vm_fd = vm_fd;
    slots_max = MIN(max_slots, (unsigned)KVM_SLOTS_TRACKED);
    slots_readonly_ok = kvm_check_extension(kvm_fd, KVM_CAP_READONLY_MEM) > 0;
}

static int slot_set(unsigned id, const struct mem_range *r, bool on)
{
    struct kvm_userspace_memory_region k = {
        .slot = id,
        .flags = on && r->readonly ? KVM_MEM_READONLY : 0,
        .guest_phys_addr = r->gpa,
        .memory_size = on ? r->size : 0,
        .userspace_addr = (uintptr_t)r->hva,
    };

    return kvm_vm_set_user_memory(slots_vm_fd, &k);
}

int kvm_slots_add(const struct mem_range *r, GError **errp)
{
    int ret;

    if (r->readonly && !slots_readonly_ok) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "KVM: read-only memory at 0x%" G_GINT64_MODIFIER "x needs "
                    "KVM_CAP_READONLY_MEM, which this host lacks", r->gpa);
        return -ENOTSUP;
    }
    for (unsigned id = 0; id < slots_max; id++) {
        if (slots[id].used) {
            continue;
        }
        ret = slot_set(id, r, true);
        if (ret < 0) {
            g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                        "KVM_SET_USER_MEMORY_REGION at 0x%" G_GINT64_MODIFIER "x (size 0x%"
                        G_GINT64_MODIFIER "x): %s", r->gpa, r->size, g_strerror(-ret));
            return ret;
        }
        slots[id] = (struct kvm_slot){ .used = true, .r = *r };
        return 0;
    }
    g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "KVM: out of memory slots (%u)",
                slots_max);
    return -ENOSPC;
}

static bool range_eq(const struct mem_range *a, const struct mem_range *b)
{
    return a->gpa == b->gpa && a->size == b->size && a->hva == b->hva &&
           a->readonly == b->readonly;
}

/* mem_set_map_hook: the slots follow the flat view, whatever range changed. */
void kvm_slots_sync(uint64_t gpa, uint64_t len)
{
    struct mem_range want[KVM_SLOTS_TRACKED];
    unsigned n = MIN(mem_flat_view(want, KVM_SLOTS_TRACKED), (unsigned)KVM_SLOTS_TRACKED);
    bool have[KVM_SLOTS_TRACKED] = { false };

    for (unsigned id = 0; id < slots_max; id++) {
        bool keep = false;

        if (!slots[id].used) {
            continue;
        }
        for (unsigned i = 0; i < n && !keep; i++) {
            if (!have[i] && range_eq(&slots[id].r, &want[i])) {
                have[i] = keep = true;
            }
        }
        if (!keep) {
            int ret = slot_set(id, &slots[id].r, false);

            if (ret < 0) {
                error_report("KVM: deleting the memory slot at 0x%" G_GINT64_MODIFIER
                             "x: %s", slots[id].r.gpa, g_strerror(-ret));
            }
            slots[id].used = false;
        }
    }
    for (unsigned i = 0; i < n; i++) {
        g_autoptr(GError) err = NULL;

        if (!have[i] && kvm_slots_add(&want[i], &err) < 0) {
            /* Nothing to return to: the range stays MMIO, and says why. */
            error_report("%s", err->message);
        }
    }
}
