/*
 * A client's connection to a listening unix socket (a -qmp or -chardev
 * socket of the VM under test), for the tests that run the real binary:
 * test-boot and test-virtio (through vm.c) and test-qmp.  Any thread.
 */
#ifndef TESTS_FUNCTIONAL_UNIX_CONNECT_H
#define TESTS_FUNCTIONAL_UNIX_CONNECT_H

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

/* The connected socket (close-on-exec), or -1 while nothing listens. */
static inline int unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_strlcpy(sa.sun_path, path, sizeof(sa.sun_path));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

#endif
