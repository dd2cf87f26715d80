/*
 * Fuzz target: the qemu-system-x86_64 command line.  The input is cut at
 * NUL and newline bytes into arguments after "hyvm"; config_parse() must
 * accept or refuse them with an error, never crash.  (Help options print;
 * the driver sends stdout to /dev/null.)
 */
#include <string.h>

#include <glib.h>

#include "system/config.h"
#include "tests/fuzz/fuzz.h"

const char fuzz_target_name[] = "cli";

const struct fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("-M\0microvm,accel=tcg\0-m\0size=256M,slots=2\0-smp\0cpus=2,sockets=1,cores=2"),
    FUZZ_SEED("-device\0{\"driver\": \"isa-debug-exit\", \"iobase\": 244, \"iosize\": 4}"),
    FUZZ_SEED("-chardev\0socket,id=c,path=/tmp/x,server=on,wait=off\0-mon\0chardev=c,mode=control"),
    FUZZ_SEED("-drive\0file=x.img,if=none,id=d,format=raw\0-device\0virtio-blk,drive=d"),
    FUZZ_SEED("-cpu\0qemu64,+avx,-sse4.2,vmx=off\0-accel\0kvm:tcg\0-d\0guest_errors,unimp"),
    FUZZ_SEED("-boot\0order=cd,menu=on,splash-time=5\0-append\0a,,b\0-name\0guest=vm,,1"),
    FUZZ_SEED("-qmp\0unix:/tmp/q,server,nowait\0-serial\0mon:stdio\0-nographic\0-S"),
    { NULL },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    GPtrArray *args = g_ptr_array_new_with_free_func(g_free);
    size_t start = 0;
    struct hyvm_config *c;
    GError *err = NULL;

    g_ptr_array_add(args, g_strdup("hyvm"));
    for (size_t i = 0; i <= size; i++) {
        if (i == size || data[i] == 0 || data[i] == '\n') {
            g_ptr_array_add(args, g_strndup((const char *)data + start, i - start));
            start = i + 1;
        }
    }
    g_ptr_array_add(args, NULL);
    c = config_parse((int)args->len - 1, (char **)args->pdata, &err);
    if (c) {
        config_free(c);
    }
    g_clear_error(&err);
    g_ptr_array_free(args, TRUE);
    return 0;
}
