/*
 * machine/boot-file.c and ram_map_file(): a -kernel/-initrd file put into
 * guest RAM by mapping its pages copy-on-write must read exactly like the
 * file, leave every other byte of RAM alone, and never write to the file
 * when the guest writes its pages.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "machine/boot-file.h"
#include "system/error.h"
#include "system/memory.h"

#define RAM_SIZE (4u << 20)
#define PAGE 4096u

static char *tmp_dir;

static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 13 + (i >> 12) * 7 + 1);
}

static char *tmp_file(const char *name, size_t len)
{
    g_autofree uint8_t *buf = g_malloc(len + 1);
    char *path = g_build_filename(tmp_dir, name, NULL);

    for (size_t i = 0; i < len; i++) {
        buf[i] = pattern(i);
    }
    g_assert_true(g_file_set_contents(path, (char *)buf, len, NULL));
    return path;
}

/* The file still holds pattern() and nothing else. */
static void assert_file_intact(const char *path, size_t len)
{
    g_autofree char *buf = NULL;
    gsize got;

    g_assert_true(g_file_get_contents(path, &buf, &got, NULL));
    g_assert_cmpuint(got, ==, len);
    for (size_t i = 0; i < len; i++) {
        if ((uint8_t)buf[i] != pattern(i)) {
            g_test_message("file byte %zu is 0x%02x", i, (uint8_t)buf[i]);
            g_assert_not_reached();
        }
    }
}

static void ram_fresh(void)
{
    g_autoptr(GError) err = NULL;

    ram_free_all();
    g_assert_cmpint(ram_add_region(0, RAM_SIZE, &err), ==, 0);
    /* Dirty, so a byte outside the range that changed shows. */
    memset(ram_hva(0, RAM_SIZE), 0xaa, RAM_SIZE);
}

/*
 * Bytes [off, off+len) of a file of flen bytes at gpa: RAM holds them, the
 * bytes around are still 0xaa, and writing all of them (the guest) leaves
 * the file as it was.  mapped: whether the middle pages must be the file's
 * (share the page cache) rather than copies.
 */
static void check_to_ram(size_t flen, size_t off, size_t len, uint64_t gpa, bool mapped)
{
    g_autofree char *path = tmp_file("initrd.img", flen);
    uint8_t *ram;
    struct boot_file f;
    g_autoptr(GError) err = NULL;

    ram_fresh();
    ram = ram_hva(0, RAM_SIZE);
    g_assert_cmpint(boot_file_open(&f, path, &err), ==, 0);
    g_assert_true(f.mapped);
    g_assert_cmpuint(f.len, ==, flen);
    g_assert_cmpint(boot_file_to_ram(&f, off, len, gpa), ==, 0);
    boot_file_close(&f);

    for (size_t i = 0; i < len; i++) {
        if (ram[gpa + i] != pattern(off + i)) {
            g_test_message("RAM byte 0x%zx (file byte %zu) is 0x%02x", (size_t)gpa + i,
                           off + i, ram[gpa + i]);
            g_assert_not_reached();
        }
    }
    for (uint64_t a = 0; a < RAM_SIZE; a++) {
        if (a == gpa) {
            a += len - 1;
            continue;
        }
        if (ram[a] != 0xaa) {
            g_test_message("RAM byte 0x%zx outside the file's range is 0x%02x", (size_t)a,
                           ram[a]);
            g_assert_not_reached();
        }
    }
    if (mapped) {
        /* The middle pages are the file's, not copies: /proc/self/maps
         * names the file at their address. */
        uint64_t mid = (gpa + len / 2) & ~(uint64_t)(PAGE - 1);
        g_autofree char *maps = NULL;
        g_auto(GStrv) lines = NULL;
        bool found = false;

        g_assert_true(g_file_get_contents("/proc/self/maps", &maps, NULL, NULL));
        lines = g_strsplit(maps, "\n", -1);
        for (unsigned i = 0; lines[i]; i++) {
            unsigned long lo, hi;

            if (sscanf(lines[i], "%lx-%lx", &lo, &hi) == 2 &&
                (uintptr_t)(ram + mid) >= lo && (uintptr_t)(ram + mid) < hi) {
                g_test_message("%s", lines[i]);
                found = strstr(lines[i], path) != NULL;
            }
        }
        g_assert_true(found);
    }
    /* The guest writes all of it: copy-on-write, the file does not change. */
    memset(ram + gpa, 0x55, len);
    g_assert_cmpuint(ram[gpa + len / 2], ==, 0x55);
    assert_file_intact(path, flen);
    g_unlink(path);
}

static void test_aligned(void)
{
    /* An initrd: page-aligned, its last page partial. */
    check_to_ram(3 * PAGE + 123, 0, 3 * PAGE + 123, 0x200000, true);
    /* Whole pages, ending at the end of RAM. */
    check_to_ram(4 * PAGE, 0, 4 * PAGE, RAM_SIZE - 4 * PAGE, true);
}

static void test_congruent(void)
{
    /* Offset and address share their place in a page: head and tail are
     * copied, the pages between mapped. */
    check_to_ram(8 * PAGE, PAGE + 0x300, 5 * PAGE, 0x100300, true);
}

static void test_not_congruent(void)
{
    /* A bzImage's protected-mode part: (setup_sects + 1) * 512 into the
     * file, at 1 MiB: copied. */
    check_to_ram(6 * PAGE + 77, 0x3a00, 6 * PAGE + 77 - 0x3a00, 0x100000, false);
    /* Shorter than a page: copied. */
    check_to_ram(100, 0, 100, 0x10000, false);
}

static void test_bounds(void)
{
    g_autofree char *path = tmp_file("big.img", 3 * PAGE);
    struct boot_file f;
    g_autoptr(GError) err = NULL;
    uint8_t *ram;

    ram_fresh();
    ram = ram_hva(0, RAM_SIZE);
    g_assert_cmpint(boot_file_open(&f, path, &err), ==, 0);
    /* Past RAM's end: refused, RAM unchanged. */
    g_assert_cmpint(boot_file_to_ram(&f, 0, 3 * PAGE, RAM_SIZE - 2 * PAGE), ==, -EFAULT);
    g_assert_cmpint(boot_file_to_ram(&f, 0, 3 * PAGE, UINT64_MAX - PAGE), ==, -EFAULT);
    g_assert_cmpuint(ram[RAM_SIZE - 1], ==, 0xaa);
    /* Past the file's end. */
    g_assert_cmpint(boot_file_to_ram(&f, PAGE, 3 * PAGE, 0), ==, -EINVAL);
    g_assert_cmpint(boot_file_to_ram(&f, SIZE_MAX, 2, 0), ==, -EINVAL);
    boot_file_close(&f);

    /* ram_map_file itself: page-aligned arguments only. */
    f.fd = open(path, O_RDONLY);
    g_assert_cmpint(f.fd, >=, 0);
    g_assert_cmpint(ram_map_file(0x1000, PAGE, f.fd, 0x100), ==, -EINVAL);
    g_assert_cmpint(ram_map_file(0x1100, PAGE, f.fd, 0), ==, -EINVAL);
    g_assert_cmpint(ram_map_file(0x1000, 0x800, f.fd, 0), ==, -EINVAL);
    g_assert_cmpint(ram_map_file(RAM_SIZE, PAGE, f.fd, 0), ==, -EFAULT);
    /* A file mmap refuses (O_WRONLY: EACCES) leaves RAM mapped, zeroed. */
    close(f.fd);
    f.fd = open(path, O_WRONLY);
    g_assert_cmpint(ram_map_file(0x1000, PAGE, f.fd, 0), ==, -EACCES);
    ram[0x1000] = 1;
    g_assert_cmpuint(ram[0x1000] + ram[0x1001], ==, 1);
    close(f.fd);
    g_unlink(path);
}

static void test_not_mappable(void)
{
    struct boot_file f;
    g_autoptr(GError) err = NULL;
    int fds[2];

    /* A pipe (-initrd /dev/stdin, <(...)): read, not mapped. */
    g_assert_cmpint(pipe(fds), ==, 0);
    g_assert_cmpint(write(fds[1], "070701", 6), ==, 6);
    close(fds[1]);
    {
        g_autofree char *path = g_strdup_printf("/proc/self/fd/%d", fds[0]);

        g_assert_cmpint(boot_file_open(&f, path, &err), ==, 0);
    }
    close(fds[0]);
    g_assert_false(f.mapped);
    g_assert_cmpmem(f.data, f.len, "070701", 6);
    ram_fresh();
    g_assert_cmpint(boot_file_to_ram(&f, 0, 6, 0x2000), ==, 0);
    g_assert_cmpmem(ram_hva(0x2000, 6), 6, "070701", 6);
    boot_file_close(&f);

    g_assert_cmpint(boot_file_open(&f, "/nonexistent/initrd", &err), ==, -ENOENT);
    g_assert_error(err, HYVM_ERROR, HYVM_ERROR_FAILED);
    g_assert_cmpstr(err->message, ==, g_strerror(ENOENT));
}

int main(int argc, char **argv)
{
    g_autoptr(GError) err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmp_dir = g_dir_make_tmp("hyvm-boot-file-XXXXXX", &err);
    g_assert_no_error(err);
    g_test_add_func("/boot-file/aligned", test_aligned);
    g_test_add_func("/boot-file/congruent", test_congruent);
    g_test_add_func("/boot-file/not-congruent", test_not_congruent);
    g_test_add_func("/boot-file/bounds", test_bounds);
    g_test_add_func("/boot-file/not-mappable", test_not_mappable);
    ret = g_test_run();
    ram_free_all();
    g_rmdir(tmp_dir);
    return ret;
}
