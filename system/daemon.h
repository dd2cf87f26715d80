/*
 * -daemonize and -pidfile, as QEMU: the parent returns only once the VM is
 * set up (exit status 0) or failed (the child's status).
 */
#ifndef HYVM_DAEMON_H
#define HYVM_DAEMON_H

#include <glib.h>

/* Forks; only the child returns.  Call before anything is created. */
int daemon_start(GError **errp);
/* Child: start-up finished; the parent exits 0 and stdio goes to /dev/null. */
void daemon_ready(void);

/* Creates and locks PATH with our pid; removed again at exit. */
int pidfile_create(const char *path, GError **errp);
void pidfile_remove(void);

#endif
