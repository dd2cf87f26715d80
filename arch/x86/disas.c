/*
 * capstone wrapper for the monitor and the logs (see disas.h).  The layout
 * is QEMU's: "0x%08x: " then " %02x" per byte for up to eight bytes,
 * padding so mnemonics line up, "  %-8s %s"; longer instructions continue
 * with their remaining bytes on lines of their own.
 *
 * capstone is loaded on first use, not at start-up: its 77,000
 * relocations would otherwise cost every hyvm start about a millisecond,
 * while only "x /i" and "-d in_asm" need it.  The soname comes from the
 * build (HYVM_CAPSTONE_SONAME); the header gives the types.
 */
#include <dlfcn.h>
#include <capstone/capstone.h>

#include "arch/x86/disas.h"
#include "hyvm-version.h"

struct capstone_api {
    cs_err (*open)(cs_arch arch, cs_mode mode, csh *handle);
    cs_err (*option)(csh handle, cs_opt_type type, size_t value);
    size_t (*disasm)(csh handle, const uint8_t *code, size_t size, uint64_t address,
                     size_t count, cs_insn **insn);
    void (*free)(cs_insn *insn, size_t count);
    cs_err (*close)(csh *handle);
};

static struct capstone_api cs_api;

static bool capstone_load_once(void)
{
    void *lib = dlopen(HYVM_CAPSTONE_SONAME, RTLD_NOW | RTLD_LOCAL);

    if (!lib) {
        return false;
    }
    cs_api.open = (cs_err (*)(cs_arch, cs_mode, csh *))dlsym(lib, "cs_open");
    cs_api.option = (cs_err (*)(csh, cs_opt_type, size_t))dlsym(lib, "cs_option");
    cs_api.disasm = (size_t (*)(csh, const uint8_t *, size_t, uint64_t, size_t,
                                cs_insn **))dlsym(lib, "cs_disasm");
    cs_api.free = (void (*)(cs_insn *, size_t))dlsym(lib, "cs_free");
    cs_api.close = (cs_err (*)(csh *))dlsym(lib, "cs_close");
    return cs_api.open && cs_api.option && cs_api.disasm && cs_api.free && cs_api.close;
}

/* Thread-safe: "x /i" runs on the main thread, "-d in_asm" on vCPUs. */
static bool capstone_load(void)
{
    static gsize state;     /* 0 unknown, 1 loaded, 2 missing */

    if (g_once_init_enter(&state)) {
        g_once_init_leave(&state, capstone_load_once() ? 1 : 2);
    }
    return state == 1;
}

#define BYTES_PER_LINE 8

size_t x86_disas_one(GString *out, const uint8_t *buf, size_t len, uint64_t addr,
                     unsigned mode_bits)
{
    cs_mode mode = mode_bits == 64 ? CS_MODE_64 : mode_bits == 32 ? CS_MODE_32 : CS_MODE_16;
    cs_insn *insn = NULL;
    csh handle;
    size_t n, size;

    if (!capstone_load() || cs_api.open(CS_ARCH_X86, mode, &handle) != CS_ERR_OK) {
        return 0;
    }
    cs_api.option(handle, CS_OPT_SYNTAX, CS_OPT_SYNTAX_ATT);
    n = cs_api.disasm(handle, buf, len, addr, 1, &insn);
    if (n < 1) {
        cs_api.close(&handle);
        return 0;
    }
    size = insn->size;
    g_string_append_printf(out, "0x%08" G_GINT64_MODIFIER "x: ", addr);
    for (size_t i = 0; i < size && i < BYTES_PER_LINE; i++) {
        g_string_append_printf(out, " %02x", insn->bytes[i]);
    }
    if (size < BYTES_PER_LINE) {
        g_string_append_printf(out, "%*s", (int)(BYTES_PER_LINE - size) * 3, "");
    }
    g_string_append_printf(out, "  %-8s %s\n", insn->mnemonic, insn->op_str);
    for (size_t i = BYTES_PER_LINE; i < size; i += BYTES_PER_LINE) {
        g_string_append_printf(out, "0x%08" G_GINT64_MODIFIER "x: ", addr + i);
        for (size_t j = i; j < size && j < i + BYTES_PER_LINE; j++) {
            g_string_append_printf(out, " %02x", insn->bytes[j]);
        }
        g_string_append_c(out, '\n');
    }
    cs_api.free(insn, n);
    cs_api.close(&handle);
    return size;
}
