/*
 * Unix-domain stream sockets for the unit tests, as a chardev's peer sees
 * them: a client connected to a server's path, or a listener bound to one
 * (both assert success; the caller closes the descriptor), and the peer's
 * writes and reads of whole strings on such a descriptor.
 */
#ifndef HYVM_TESTS_UNIX_SOCKET_H
#define HYVM_TESTS_UNIX_SOCKET_H

#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>

static inline int unix_socket_at(const char *path, struct sockaddr_un *sa)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_assert_cmpint(fd, >=, 0);
    *sa = (struct sockaddr_un){ .sun_family = AF_UNIX };
    g_strlcpy(sa->sun_path, path, sizeof(sa->sun_path));
    return fd;
}

static inline int unix_connect(const char *path)
{
    struct sockaddr_un sa;
    int fd = unix_socket_at(path, &sa);

    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

static inline int unix_listen(const char *path)
{
    struct sockaddr_un sa;
    int fd = unix_socket_at(path, &sa);

    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    return fd;
}

static inline void fd_write(int fd, const char *s)
{
    g_assert_cmpint(write(fd, s, strlen(s)), ==, (ssize_t)strlen(s));
}

/* Reads exactly strlen(expect) bytes from fd (blocking, 5 s at most) and
 * compares them with expect. */
static inline void fd_expect(int fd, const char *expect)
{
    size_t want = strlen(expect), got = 0;
    g_autofree char *buf = g_malloc0(want + 1);

    while (got < want) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        ssize_t n;

        g_assert_cmpint(poll(&p, 1, 5000), ==, 1);
        n = read(fd, buf + got, want - got);
        g_assert_cmpint(n, >, 0);
        got += (size_t)n;
    }
    g_assert_cmpstr(buf, ==, expect);
}

/* Whether fd has something to read right now. */
static inline bool fd_readable(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };

    return poll(&p, 1, 0) == 1;
}

#endif
