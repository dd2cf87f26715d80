/*
 * SMBIOS for -M pc (machine/smbios.c) against QEMU 7.2's bytes, read with
 * scripts/qemu-fw-cfg-dump.py from qemu-system-x86_64 -M pc (-cpu qemu64
 * under TCG: CPUID.1 EAX 0x00060fb1, EDX 0x078bfbfd), and a structure walk
 * as an OS does it.
 */
#include <string.h>

#include <glib.h>

#include "machine/smbios.h"
#include "system/error.h"

/* qemu-system-x86_64 -M pc (128 MiB, one vCPU). */
static const char qemu_default_tables[] =
    "011b0001010203000000000000000000000000000000000006000051454d55005374616e64617264"
    "2050432028693434304658202b20504949582c2031393936290070632d6934343066782d372e3200"
    "000316000301010200000303030200000000000000000051454d550070632d6934343066782d372e"
    "320000042a000401030102b10f0600fdfb8b0703000000d007d0074101ffffffffffff0000000101"
    "010200010043505520300051454d550070632d6934343066782d372e320000101700100103060000"
    "0200feff010000000000000000000000112800110010feffffffffff800009000100070200000002"
    "0000000000000000000000000000000044494d4d20300051454d550000131f001300000000ffff01"
    "00001001000000000000000000000000000000000000200b00200000000000000000007f04007f00"
    "00";
static const char qemu_default_anchor[] =
    "5f534d5f001f020851000000000000005f444d495f00410100000000080028";

/* qemu-system-x86_64 -M pc -m 20G -smp 4,cores=2: two sockets, two DIMMs
 * (16 GiB and 4 GiB), RAM below and above 4 GiB. */
static const char qemu_20g_tables[] =
    "011b0001010203000000000000000000000000000000000006000051454d55005374616e64617264"
    "2050432028693434304658202b20504949582c2031393936290070632d6934343066782d372e3200"
    "000316000301010200000303030200000000000000000051454d550070632d6934343066782d372e"
    "320000042a000401030102b10f0600fdfb8b0703000000d007d0074101ffffffffffff0000000202"
    "020200010043505520300051454d550070632d6934343066782d372e320000042a01040103010"
    "2b10f0600fdfb8b0703000000d007d0074101ffffffffffff0000000202020200010043505520310"
    "051454d550070632d6934343066782d372e3200001017001001030600004001feff0200000000000"
    "00000000000112800110010feffffffffff0040090001000702000000020000000000000000000000"
    "000000000044494d4d20300051454d550000112801110010feffffffffff00100900010007020000"
    "00020000000000000000000000000000000044494d4d20310051454d550000131f001300000000ff"
    "ff2f00001001000000000000000000000000000000000000131f011300004000ffff4f0100100100"
    "0000000000000000000000000000000000200b00200000000000000000007f04007f0000";
static const char qemu_20g_anchor[] =
    "5f534d5f001f020851000000000000005f444d495f00db01000000000b0028";

static GByteArray *unhex(const char *h)
{
    GByteArray *b = g_byte_array_new();

    for (size_t i = 0; h[i] && h[i + 1]; i += 2) {
        uint8_t v = g_ascii_xdigit_value(h[i]) << 4 | g_ascii_xdigit_value(h[i + 1]);

        g_byte_array_append(b, &v, 1);
    }
    return b;
}

static void config(struct smbios_config *c, uint64_t ram, unsigned ncpus, unsigned cores)
{
    smbios_config_pc(c);
    c->ram_size = ram;
    c->ncpus = ncpus;
    c->cores = cores;
    c->threads = 1;
    c->cpuid_version = 0x00060fb1;
    c->cpuid_features = 0x078bfbfd;
    c->nmem = 1;
    c->mem[0].size = MIN(ram, 0xc0000000ull);
    if (ram > 0xc0000000ull) {
        c->nmem = 2;
        c->mem[1].start = 1ull << 32;
        c->mem[1].size = ram - 0xc0000000ull;
    }
}

static void check_bytes(GByteArray *got, const char *want_hex)
{
    g_autoptr(GByteArray) want = unhex(want_hex);

    g_assert_cmpmem(got->data, got->len, want->data, want->len);
}

static void test_qemu_default(void)
{
    struct smbios_config c;
    g_autoptr(GByteArray) t = NULL;
    g_autoptr(GByteArray) a = NULL;

    config(&c, 128ull << 20, 1, 1);
    smbios_build(&c, &t, &a);
    check_bytes(t, qemu_default_tables);
    check_bytes(a, qemu_default_anchor);
}

static void test_qemu_20g_two_sockets(void)
{
    struct smbios_config c;
    g_autoptr(GByteArray) t = NULL;
    g_autoptr(GByteArray) a = NULL;

    config(&c, 20ull << 30, 4, 2);
    smbios_build(&c, &t, &a);
    check_bytes(t, qemu_20g_tables);
    check_bytes(a, qemu_20g_anchor);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;

    while (n--) {
        s += *p++;
    }
    return s;
}

/*
 * What an OS does with the entry point once the firmware completed it
 * (SeaBIOS's smbios_romfile_setup sets the address and both checksums):
 * the checksums hold, the walk finds as many structures as it says, ends
 * at type 127 exactly at the table's length, and string 1..n resolve.
 */
static void test_walk(void)
{
    struct smbios_config c;
    g_autoptr(GByteArray) t = NULL;
    g_autoptr(GByteArray) a = NULL;
    unsigned count = 0, maxsz = 0, ntype4 = 0, ntype17 = 0;
    size_t off = 0;
    const char *product = NULL;

    config(&c, 40ull << 30, 8, 2);
    smbios_build(&c, &t, &a);
    g_assert_cmpuint(a->len, ==, 0x1f);
    a->data[0x10 + 5] = -sum(a->data + 0x10, 0x0f);
    a->data[4] = -sum(a->data, 0x1f);
    g_assert_cmpuint(sum(a->data, 0x1f), ==, 0);
    g_assert_cmpuint(sum(a->data + 0x10, 0x0f), ==, 0);
    g_assert_cmpuint(a->data[0x16] | a->data[0x17] << 8, ==, t->len);
    while (off < t->len) {
        const uint8_t *s = t->data + off;
        size_t end = off + s[1];
        unsigned nstr = 0;

        g_assert_cmpuint(s[1], >=, 4);
        g_assert_cmpuint(end + 2, <=, t->len);
        /* The string set: NUL-terminated strings, then a NUL. */
        if (!t->data[end]) {
            end += 2;
        } else {
            while (t->data[end]) {
                const char *str = (const char *)t->data + end;

                nstr++;
                if (s[0] == 1 && nstr == s[5]) {
                    product = str;
                }
                end += strlen(str) + 1;
            }
            end++;
        }
        maxsz = MAX(maxsz, end - off);
        count++;
        ntype4 += s[0] == 4;
        ntype17 += s[0] == 17;
        off = end;
        if (s[0] == 127) {
            break;
        }
    }
    g_assert_cmpuint(off, ==, t->len);
    g_assert_cmpuint(count, ==, a->data[0x1c] | a->data[0x1d] << 8);
    g_assert_cmpuint(maxsz, ==, a->data[8] | a->data[9] << 8);
    g_assert_cmpuint(ntype4, ==, 4);        /* 8 vCPUs, 2 per socket */
    g_assert_cmpuint(ntype17, ==, 3);       /* 16 + 16 + 8 GiB */
    g_assert_cmpstr(product, ==, "Standard PC (i440FX + PIIX, 1996)");
}

/* The UUID in SMBIOS 2.6's order: the first three fields byte-swapped. */
static void test_uuid(void)
{
    static const uint8_t uuid[16] = {
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
        0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    };
    static const uint8_t wire[16] = {
        0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66,
        0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
    };
    struct smbios_config c;
    g_autoptr(GByteArray) t = NULL;
    g_autoptr(GByteArray) a = NULL;

    config(&c, 128ull << 20, 1, 1);
    memcpy(c.uuid, uuid, 16);
    smbios_build(&c, &t, &a);
    g_assert_cmpuint(t->data[0], ==, 1);
    g_assert_cmpmem(t->data + 8, 16, wire, 16);
}

/* -smbios type=0,vendor=Acme,version=1.2,date=01/02/2003,release=4.5,uefi=on
 * -smbios type=1,serial=ds=nocloud,sku=S1,family=Fam
 * -smbios type=2,manufacturer=Board,location=Here
 * -smbios type=3,serial=CH1,asset=A1,sku=K, as QEMU 7.2 builds them. */
static const char qemu_fields_tables[] =
    "00180000010200e803000800000000000000001c0405ffff41636d6500312e320030312f30322f3230"
    "30330000011b0001010203040000000000000000000000000000000006050651454d55005374616e64"
    "6172642050432028693434304658202b20504949582c2031393936290070632d6934343066782d372e"
    "320064733d6e6f636c6f75640053310046616d0000020f00020102030000010400030a00426f617264"
    "005374616e646172642050432028693434304658202b20504949582c2031393936290070632d693434"
    "3066782d372e32004865726500000316000301010203040303030200000000000000000551454d5500"
    "70632d6934343066782d372e3200434831004131004b0000042a000401030102b10f0600fdfb8b0703"
    "000000d007d0074101ffffffffffff0000000101010200010043505520300051454d550070632d6934"
    "343066782d372e3200001017001001030600000200feff010000000000000000000000112800110010"
    "feffffffffff8000090001000702000000020000000000000000000000000000000044494d4d203000"
    "51454d550000131f001300000000ffff0100001001000000000000000000000000000000000000200b"
    "00200000000000000000007f04007f0000";
static const char qemu_fields_anchor[] =
    "5f534d5f001f020863000000000000005f444d495f00d401000000000a0028";

static void test_fields(void)
{
    static const char *const args[] = {
        "type=0,vendor=Acme,version=1.2,date=01/02/2003,release=4.5,uefi=on",
        "type=1,serial=ds=nocloud,sku=S1,family=Fam",
        "type=2,manufacturer=Board,location=Here",
        "type=3,serial=CH1,asset=A1,sku=K",
    };
    struct smbios_fields f = { 0 };
    struct smbios_config c;
    g_autoptr(GByteArray) t = NULL;
    g_autoptr(GByteArray) a = NULL;

    for (unsigned i = 0; i < G_N_ELEMENTS(args); i++) {
        g_assert_cmpint(smbios_fields_parse(&f, args[i], NULL), ==, 0);
    }
    config(&c, 128ull << 20, 1, 1);
    c.fields = &f;
    smbios_build(&c, &t, &a);
    check_bytes(t, qemu_fields_tables);
    check_bytes(a, qemu_fields_anchor);
    smbios_fields_clear(&f);
}

/* QEMU's messages; what is not built yet says so. */
static void test_fields_errors(void)
{
    static const struct {
        const char *arg, *msg;
        int code;
    } bad[] = {
        { "serial=1", "Must specify type= or file=", HYVM_ERROR_FAILED },
        { "type=1,foo=bar", "Invalid parameter 'foo'", HYVM_ERROR_FAILED },
        { "type=0,serial=1", "Invalid parameter 'serial'", HYVM_ERROR_FAILED },
        { "type=99", "Don't know how to build fields for SMBIOS type 99", HYVM_ERROR_FAILED },
        { "type=300", "out of range!", HYVM_ERROR_FAILED },
        { "type=0,release=x", "Invalid release", HYVM_ERROR_FAILED },
        { "type=1,uuid=zz", "Invalid UUID", HYVM_ERROR_FAILED },
        { "type=0,uefi=maybe", "Parameter 'uefi' expects 'on' or 'off'", HYVM_ERROR_FAILED },
        { "type=17,speed=1", "SMBIOS type 17 fields are not supported yet",
          HYVM_ERROR_UNSUPPORTED },
        { "file=t.bin", "SMBIOS tables from a file are not supported yet",
          HYVM_ERROR_UNSUPPORTED },
    };

    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autoptr(GError) err = NULL;

        g_assert_cmpint(smbios_fields_parse(NULL, bad[i].arg, &err), <, 0);
        g_assert_error(err, HYVM_ERROR, bad[i].code);
        g_assert_cmpstr(err->message, ==, bad[i].msg);
    }
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/smbios/qemu-default", test_qemu_default);
    g_test_add_func("/smbios/qemu-20g-two-sockets", test_qemu_20g_two_sockets);
    g_test_add_func("/smbios/walk", test_walk);
    g_test_add_func("/smbios/uuid", test_uuid);
    g_test_add_func("/smbios/fields", test_fields);
    g_test_add_func("/smbios/fields-errors", test_fields_errors);
    return g_test_run();
}
