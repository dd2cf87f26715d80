/*
 * The main thread's glib loop and the big lock.
 *
 * The main thread holds the big lock at all times except inside poll(),
 * so every glib callback runs under it.  main_loop_wakeup() is a write(2)
 * to an eventfd, safe from signal handlers and vCPU threads alike.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <glib-unix.h>

#include "system/main-loop.h"
#include "system/runstate.h"

static pthread_mutex_t bql = PTHREAD_MUTEX_INITIALIZER;
static __thread bool bql_held;
static int wake_fd = -1;
static GMainLoop *loop;
static int loop_status;

void bql_lock(void)
{
    pthread_mutex_lock(&bql);
    bql_held = true;
}

void bql_unlock(void)
{
    bql_held = false;
    pthread_mutex_unlock(&bql);
}

bool bql_locked(void)
{
    return bql_held;
}

static gint poll_unlocked(GPollFD *fds, guint nfds, gint timeout)
{
    gint ret;

    bql_unlock();
    ret = g_poll(fds, nfds, timeout);
    bql_lock();
    return ret;
}

static gboolean wake_cb(gint fd, GIOCondition cond, gpointer data)
{
    uint64_t v;

    while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR) {
    }
    if (vm_handle_requests(&loop_status)) {
        g_main_loop_quit(loop);
    }
    return G_SOURCE_CONTINUE;
}

void main_loop_init(void)
{
    if (wake_fd >= 0) {
        return;
    }
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g_main_context_set_poll_func(g_main_context_default(), poll_unlocked);
    g_unix_fd_add(wake_fd, G_IO_IN, wake_cb, NULL);
    loop = g_main_loop_new(NULL, FALSE);
}

void main_loop_wakeup(void)
{
    uint64_t one = 1;
    int saved = errno;

    if (wake_fd >= 0) {
        /* A full counter already means "wake up": nothing to retry. */
        (void)!write(wake_fd, &one, sizeof(one));
    }
    errno = saved;
}

int main_loop_run(void)
{
    /* A request may have come before the loop started (a guest that exits
     * at once, -daemonize errors): look before sleeping. */
    if (vm_handle_requests(&loop_status)) {
        return loop_status;
    }
    g_main_loop_run(loop);
    return loop_status;
}
