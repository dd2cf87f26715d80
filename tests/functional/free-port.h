/*
 * A free TCP port on 127.0.0.1, for the tests that give the real binary a
 * port to listen on (hostfwd, -netdev socket, -chardev socket): test-net
 * and test-virtio, and test-qmp.  Any thread.
 */
#ifndef TESTS_FUNCTIONAL_FREE_PORT_H
#define TESTS_FUNCTIONAL_FREE_PORT_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

/* A port nothing listened on a moment ago (the kernel's pick for a bind to
 * port 0); another process may take it before the VM does. */
static inline int free_tcp_port(void)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    g_assert_cmpint(fd, >=, 0);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    close(fd);
    return ntohs(sa.sin_port);
}

#endif
