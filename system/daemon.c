/*
 * -daemonize and -pidfile.  The parent waits on a pipe for the child's
 * word that start-up worked; if the child dies first, the parent exits
 * with the child's status, so scripts see errors from a daemonized hyvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "system/daemon.h"
#include "system/error.h"

static int ready_fd = -1;
static char *pidfile_path;

int daemon_start(GError **errp)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "-daemonize: %s",
                    g_strerror(errno));
        return -errno;
    }
    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED, "-daemonize: fork: %s",
                    g_strerror(errno));
        return -errno;
    }
    if (pid > 0) {
        uint8_t status = 1;
        ssize_t n;
        int wstatus;

        close(fds[1]);
        do {
            n = read(fds[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        if (n == 1) {
            _exit(status);
        }
        /* The child ended before it was ready: pass its status on. */
        if (waitpid(pid, &wstatus, 0) == pid && WIFEXITED(wstatus)) {
            _exit(WEXITSTATUS(wstatus) ? WEXITSTATUS(wstatus) : 1);
        }
        _exit(1);
    }
    close(fds[0]);
    ready_fd = fds[1];
    setsid();
    return 0;
}

void daemon_ready(void)
{
    uint8_t ok = 0;
    int null;

    if (ready_fd < 0) {
        return;
    }
    null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
        fflush(NULL);
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        close(null);
    }
    if (chdir("/") < 0) {
        /* Nothing to do: the daemon keeps its directory. */
    }
    while (write(ready_fd, &ok, 1) < 0 && errno == EINTR) {
    }
    close(ready_fd);
    ready_fd = -1;
}

int pidfile_create(const char *path, GError **errp)
{
    g_autofree char *line = NULL;
    struct flock lk = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

    if (fd < 0) {
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "cannot create PID file: %s", g_strerror(errno));
        return -errno;
    }
    /* A second hyvm with the same pidfile fails here, as QEMU's does. */
    if (fcntl(fd, F_SETLK, &lk) < 0) {
        int err = errno;
        close(fd);
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "cannot create PID file: Cannot lock pid file: %s", g_strerror(err));
        return -err;
    }
    line = g_strdup_printf("%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, line, strlen(line)) != (ssize_t)strlen(line)) {
        int err = errno;
        close(fd);
        g_set_error(errp, HYVM_ERROR, HYVM_ERROR_FAILED,
                    "cannot create PID file: %s", g_strerror(err));
        return -err;
    }
    /* fd stays open: the lock lives as long as the process. */
    pidfile_path = g_canonicalize_filename(path, NULL);
    return 0;
}

void pidfile_remove(void)
{
    if (pidfile_path) {
        unlink(pidfile_path);
        g_clear_pointer(&pidfile_path, g_free);
    }
}
