/*
 * Monitors.  The human monitor (HMP) on a chardev: "(qemu) " prompt and
 * the commands users reach with Ctrl-A c.  QMP comes with its own issue.
 */
#ifndef HYVM_MONITOR_H
#define HYVM_MONITOR_H

#include <glib.h>

struct chardev;

/* Starts an HMP monitor on chr (a mux joins as one more front end). */
int monitor_new_hmp(struct chardev *chr, GError **errp);
void monitor_cleanup_all(void);

/*
 * Runs one HMP command line (the human-monitor-command of QMP uses it) and
 * returns everything the command printed, "" for none; g_free it.  Main
 * thread, big lock held.
 */
char *hmp_execute(const char *line);

#endif
