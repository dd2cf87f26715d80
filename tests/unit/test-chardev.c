/*
 * Character back ends as a front end sees them, with real peers: a socket
 * server with a client connecting over unix and TCP, client mode against a
 * listener the test owns, wait=on, file and append, pipe, pty, null, the
 * -serial short spellings, and the messages for bad options.
 *
 * Each case runs in its own process: chardevs, stdio and the run state live
 * for the life of a process, as they do in hyvm.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "chardev/chardev.h"
#include "system/error.h"
#include "system/main-loop.h"
#include "tests/unit/file-node.h"
#include "tests/unit/unix-socket.h"

/* ---- a front end that records what reaches it ---- */

struct recorder {
    struct char_fe fe;
    GString *got;
    int room;               /* bytes it still takes; -1: any number */
    unsigned opened, closed, breaks;
};

static int rec_can_receive(void *opaque)
{
    struct recorder *r = opaque;

    return r->room < 0 ? 4096 : r->room;
}

static void rec_receive(void *opaque, const uint8_t *buf, int len)
{
    struct recorder *r = opaque;

    g_assert_cmpint(len, <=, rec_can_receive(r));
    g_string_append_len(r->got, (const char *)buf, len);
    if (r->room >= 0) {
        r->room -= len;
    }
}

static void rec_event(void *opaque, enum chr_event event)
{
    struct recorder *r = opaque;

    if (event == CHR_EVENT_OPENED) {
        r->opened++;
    } else if (event == CHR_EVENT_CLOSED) {
        r->closed++;
    } else if (event == CHR_EVENT_BREAK) {
        r->breaks++;
    }
}

static struct recorder *rec_attach(struct chardev *chr)
{
    struct recorder *r = g_new0(struct recorder, 1);
    GError *err = NULL;

    r->got = g_string_new(NULL);
    r->room = -1;
    g_assert_cmpint(chr_fe_init(&r->fe, chr, &err), ==, 0);
    g_assert_no_error(err);
    chr_fe_set_handlers(&r->fe, rec_can_receive, rec_receive, rec_event, r);
    return r;
}

static void rec_write(struct recorder *r, const char *s)
{
    g_assert_cmpint(chr_fe_write_all(&r->fe, (const uint8_t *)s, strlen(s)), ==, strlen(s));
}

/* ---- helpers ---- */

static char *tmp_dir;

static void remove_tmp_dir(void)
{
    chardev_cleanup_all();
    tmpdir_remove(tmp_dir);
}

static void child_setup(void)
{
    bql_lock();
    tmp_dir = g_dir_make_tmp("hyvm-chardev-XXXXXX", NULL);
    g_assert_nonnull(tmp_dir);
    atexit(remove_tmp_dir);
}

static char *tmp_path(const char *name)
{
    return g_build_filename(tmp_dir, name, NULL);
}

static struct chardev *make(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
static struct chardev *make(const char *fmt, ...)
{
    g_autofree char *opts = NULL;
    GError *err = NULL;
    struct chardev *chr;
    va_list ap;

    va_start(ap, fmt);
    opts = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    chr = chardev_new_from_opts(opts, &err);
    g_assert_no_error(err);
    g_assert_nonnull(chr);
    return chr;
}

/* Runs the main loop until cond(opaque) holds; false after ~5 s. */
static bool pump_until(bool (*cond)(void *opaque), void *opaque)
{
    for (unsigned i = 0; i < 5000; i++) {
        if (cond(opaque)) {
            return true;
        }
        if (!g_main_context_iteration(NULL, FALSE)) {
            g_usleep(1000);
        }
    }
    return cond(opaque);
}

/* Runs the loop for a while, for checks that something does NOT happen. */
static void pump_for_ms(unsigned ms)
{
    for (unsigned i = 0; i < ms; i++) {
        while (g_main_context_iteration(NULL, FALSE)) {
        }
        g_usleep(1000);
    }
}

struct want_bytes {
    struct recorder *r;
    size_t len;
};

static bool rec_has_bytes(void *opaque)
{
    struct want_bytes *w = opaque;

    return w->r->got->len >= w->len;
}

static void rec_wait_for(struct recorder *r, const char *expect)
{
    struct want_bytes w = { r, strlen(expect) };

    g_assert_true(pump_until(rec_has_bytes, &w));
    g_assert_cmpstr(r->got->str, ==, expect);
    g_string_truncate(r->got, 0);
}

struct want_count {
    unsigned *counter;
    unsigned n;
};

static bool count_reached(void *opaque)
{
    struct want_count *w = opaque;

    return *w->counter >= w->n;
}

static void wait_count(unsigned *counter, unsigned n)
{
    struct want_count w = { counter, n };

    g_assert_true(pump_until(count_reached, &w));
    g_assert_cmpuint(*counter, ==, n);
}

static int tcp_connect(unsigned port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    return fd;
}

/* A TCP listener on a free loopback port; returns the fd, sets *port. */
static int tcp_listen(unsigned *port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, 0);
    g_assert_cmpint(listen(fd, 1), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sa, &len), ==, 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

/* A port nobody listens on right now. */
static unsigned free_port(void)
{
    unsigned port;

    close(tcp_listen(&port));
    return port;
}

static void expect_error(const char *opts, int code, const char *msg)
{
    GError *err = NULL;

    g_assert_null(chardev_new_from_opts(opts, &err));
    g_assert_error(err, HYVM_ERROR, code);
    g_assert_cmpstr(err->message, ==, msg);
    g_error_free(err);
}

/* ---- null ---- */

static void child_null(void)
{
    struct chardev *chr;
    struct recorder *r;
    struct char_fe other = { 0 };
    GError *err = NULL;

    child_setup();
    chr = make("null,id=nul");
    g_assert_true(chardev_find("nul") == chr);
    g_assert_cmpstr(chardev_label(chr), ==, "nul");
    g_assert_false(chardev_is_mux(chr));
    g_assert_null(chardev_find("other"));
    r = rec_attach(chr);
    rec_write(r, "into the void");
    pump_for_ms(20);
    g_assert_cmpuint(r->got->len, ==, 0);
    g_assert_cmpuint(r->opened, ==, 0);
    /* One front end per back end unless it is a mux. */
    g_assert_cmpint(chr_fe_init(&other, chr, &err), ==, -EBUSY);
    g_assert_cmpstr(err->message, ==, "Device 'nul' is in use");
    g_clear_error(&err);
    chr_fe_deinit(&r->fe);
    g_assert_cmpint(chr_fe_init(&other, chr, &err), ==, 0);
    /* A front end without a chardev discards writes. */
    g_assert_cmpint(chr_fe_init(&r->fe, NULL, &err), ==, 0);
    rec_write(r, "nothing");
    /* After cleanup the id is free and old front ends only lose writes. */
    chardev_cleanup_all();
    g_assert_null(chardev_find("nul"));
    g_assert_cmpint(chr_fe_write_all(&other, (const uint8_t *)"x", 1), ==, 1);
    make("null,id=nul");
}

/* ---- file, append, pipe ---- */

static void child_file(void)
{
    g_autofree char *path = NULL;
    g_autofree char *opts = NULL;
    struct recorder *r;
    char *got;

    child_setup();
    path = tmp_path("out");
    r = rec_attach(make("file,id=f,path=%s", path));
    rec_write(r, "first ");
    rec_write(r, "run\n");
    g_assert_cmpuint(r->opened, ==, 1);
    g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
    g_assert_cmpstr(got, ==, "first run\n");
    g_free(got);
    chardev_cleanup_all();

    /* append=on keeps what is there. */
    r = rec_attach(make("file,id=f,path=%s,append=on", path));
    rec_write(r, "second\n");
    g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
    g_assert_cmpstr(got, ==, "first run\nsecond\n");
    g_free(got);
    chardev_cleanup_all();

    /* Without it the file starts over. */
    r = rec_attach(make("file,id=f,path=%s,append=off", path));
    rec_write(r, "third\n");
    g_assert_true(g_file_get_contents(path, &got, NULL, NULL));
    g_assert_cmpstr(got, ==, "third\n");
    g_free(got);
}

static void child_pipe(void)
{
    g_autofree char *base = NULL;
    g_autofree char *in = NULL;
    g_autofree char *out = NULL;
    struct recorder *r;
    int to_guest, from_guest;

    child_setup();
    base = tmp_path("p");
    in = g_strdup_printf("%s.in", base);
    out = g_strdup_printf("%s.out", base);
    g_assert_cmpint(mkfifo(in, 0600), ==, 0);
    g_assert_cmpint(mkfifo(out, 0600), ==, 0);
    r = rec_attach(make("pipe,id=p,path=%s", base));
    to_guest = open(in, O_WRONLY | O_NONBLOCK);
    from_guest = open(out, O_RDONLY | O_NONBLOCK);
    g_assert_cmpint(to_guest, >=, 0);
    g_assert_cmpint(from_guest, >=, 0);

    fd_write(to_guest, "keys");
    rec_wait_for(r, "keys");
    rec_write(r, "screen");
    fd_expect(from_guest, "screen");
    /* The writer going away is no end of file: a new one is heard. */
    close(to_guest);
    pump_for_ms(20);
    to_guest = open(in, O_WRONLY | O_NONBLOCK);
    fd_write(to_guest, "more");
    rec_wait_for(r, "more");
    close(to_guest);
    close(from_guest);
}

/* ---- sockets ---- */

/* What both server cases check once a client is connected. */
static void exchange(struct recorder *r, int client)
{
    fd_write(client, "hello");
    rec_wait_for(r, "hello");
    rec_write(r, "world");
    fd_expect(client, "world");

    /*
     * A front end that fills up is not handed more; the back end waits
     * (the bytes stay in the socket) until it says it has room again.
     */
    r->room = 3;
    fd_write(client, "0123456789");
    pump_for_ms(30);
    g_assert_cmpstr(r->got->str, ==, "012");
    g_string_truncate(r->got, 0);
    r->room = 4;
    pump_for_ms(30);
    g_assert_cmpuint(r->got->len, ==, 0);
    chr_fe_accept_input(&r->fe);
    rec_wait_for(r, "3456");
    r->room = -1;
    chr_fe_accept_input(&r->fe);
    rec_wait_for(r, "789");
}

static void child_unix_server(void)
{
    g_autofree char *path = NULL;
    struct chardev *chr;
    struct recorder *r;
    int client, second;

    child_setup();
    path = tmp_path("sock");
    chr = make("socket,id=s,path=%s,server=on,wait=off", path);
    r = rec_attach(chr);
    g_assert_cmpuint(r->opened, ==, 0);
    /* Nobody connected: output is dropped, not an error. */
    rec_write(r, "lost");

    client = unix_connect(path);
    wait_count(&r->opened, 1);
    exchange(r, client);

    /* One client at a time: a second one waits until the first leaves. */
    second = unix_connect(path);
    fd_write(second, "later");
    pump_for_ms(30);
    g_assert_cmpuint(r->got->len, ==, 0);
    close(client);
    wait_count(&r->closed, 1);
    wait_count(&r->opened, 2);
    rec_wait_for(r, "later");
    rec_write(r, "hi 2");
    fd_expect(second, "hi 2");
    close(second);
    wait_count(&r->closed, 2);

    /* The socket file goes with the chardev. */
    chardev_cleanup_all();
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

static void child_tcp_server(void)
{
    unsigned port = free_port();
    struct recorder *r;
    int client;

    child_setup();
    r = rec_attach(make("socket,id=t,host=127.0.0.1,port=%u,server=on,wait=off,nodelay=on",
                        port));
    client = tcp_connect(port);
    wait_count(&r->opened, 1);
    exchange(r, client);
    close(client);
    wait_count(&r->closed, 1);
    /* Nobody listens once the chardev is gone. */
    chardev_cleanup_all();
    {
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
        int fd = socket(AF_INET, SOCK_STREAM, 0);

        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        g_assert_cmpint(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), ==, -1);
        g_assert_cmpint(errno, ==, ECONNREFUSED);
        close(fd);
    }
}

static void child_unix_client(void)
{
    g_autofree char *path = NULL;
    struct recorder *r;
    int lfd, peer;

    child_setup();
    path = tmp_path("listener");
    lfd = unix_listen(path);
    r = rec_attach(make("socket,id=c,path=%s", path));
    /* Connected during creation: the front end hears it at once. */
    g_assert_cmpuint(r->opened, ==, 1);
    peer = accept(lfd, NULL, NULL);
    g_assert_cmpint(peer, >=, 0);
    exchange(r, peer);
    /* The server hangs up: closed, and no reconnect was asked for. */
    close(peer);
    wait_count(&r->closed, 1);
    pump_for_ms(50);
    g_assert_cmpuint(r->opened, ==, 1);
    close(lfd);
}

static void child_tcp_client(void)
{
    unsigned port;
    struct recorder *r;
    int lfd, peer;

    child_setup();
    lfd = tcp_listen(&port);
    r = rec_attach(make("socket,id=c,host=127.0.0.1,port=%u", port));
    g_assert_cmpuint(r->opened, ==, 1);
    peer = accept(lfd, NULL, NULL);
    g_assert_cmpint(peer, >=, 0);
    exchange(r, peer);
    close(peer);
    close(lfd);
}

static void child_client_reconnect(void)
{
    g_autofree char *path = NULL;
    struct recorder *r;
    int lfd, peer;

    child_setup();
    path = tmp_path("later");
    /* Nobody listens yet: one line on stderr, then retries each second. */
    r = rec_attach(make("socket,id=rc,path=%s,reconnect=1", path));
    g_assert_cmpuint(r->opened, ==, 0);
    lfd = unix_listen(path);
    wait_count(&r->opened, 1);
    peer = accept(lfd, NULL, NULL);
    fd_write(peer, "back");
    rec_wait_for(r, "back");
    close(peer);
    wait_count(&r->closed, 1);
    wait_count(&r->opened, 2);
    close(lfd);
}

static void test_client_reconnect(void)
{
    g_test_trap_subprocess("/chardev/subprocess/client-reconnect", 0,
                           G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    g_test_trap_assert_stderr("*Unable to connect character device rc: "
                              "Failed to connect to '*/later': No such file or directory\n");
}

struct late_client {
    char *path;
    int fd;
};

static void *late_client_thread(void *opaque)
{
    struct late_client *c = opaque;

    g_usleep(200 * 1000);
    c->fd = unix_connect(c->path);
    return NULL;
}

static void child_server_wait(void)
{
    struct late_client c = { .fd = -1 };
    struct recorder *r;
    pthread_t t;

    child_setup();
    c.path = tmp_path("waiting");
    pthread_create(&t, NULL, late_client_thread, &c);
    /* Start-up stops here until the client comes. */
    r = rec_attach(make("socket,id=w,path=%s,server=on", c.path));
    pthread_join(t, NULL);
    g_assert_cmpint(c.fd, >=, 0);
    g_assert_cmpuint(r->opened, ==, 1);
    rec_write(r, "welcome");
    fd_expect(c.fd, "welcome");
    close(c.fd);
    g_free(c.path);
}

static void test_server_wait(void)
{
    g_test_trap_subprocess("/chardev/subprocess/server-wait", 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
    /* QEMU's message, with its name for the program. */
    g_test_trap_assert_stderr("hyvm: -chardev socket,id=w,path=*/waiting,server=on: "
                              "info: hyvm waiting for connection on: "
                              "disconnected:unix:*/waiting,server=on\n");
}

/* ---- pty ---- */

static void child_pty(void)
{
    g_autofree char *msgfile = NULL;
    g_autofree char *msg = NULL;
    char pts[64] = "";
    struct recorder *r;
    int saved, fd, slave;

    child_setup();
    /* The message goes to stdout: catch it in a file. */
    msgfile = tmp_path("stdout");
    fflush(stdout);
    saved = dup(STDOUT_FILENO);
    fd = open(msgfile, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    dup2(fd, STDOUT_FILENO);
    close(fd);
    r = rec_attach(make("pty,id=tty0"));
    fflush(stdout);
    dup2(saved, STDOUT_FILENO);
    close(saved);

    g_assert_true(g_file_get_contents(msgfile, &msg, NULL, NULL));
    g_assert_cmpint(sscanf(msg, "char device redirected to %63s (label tty0)", pts), ==, 1);
    g_assert_true(g_str_has_prefix(pts, "/dev/pts/"));
    g_assert_cmpstr(strchr(msg, '('), ==, "(label tty0)\n");

    slave = open(pts, O_RDWR | O_NOCTTY);
    g_assert_cmpint(slave, >=, 0);
    /* Raw: no echo, no newline translation. */
    fd_write(slave, "ls\r\n");
    rec_wait_for(r, "ls\r\n");
    rec_write(r, "out\n");
    fd_expect(slave, "out\n");
    /* The user goes away: closed; output meanwhile is dropped, not stuck. */
    close(slave);
    wait_count(&r->closed, 1);
    for (unsigned i = 0; i < 100; i++) {
        rec_write(r, "................................................................");
    }
    /* ... and comes back: open again within the poll interval. */
    slave = open(pts, O_RDWR | O_NOCTTY);
    wait_count(&r->opened, 2);
    fd_write(slave, "again");
    rec_wait_for(r, "again");
    close(slave);
}

/* ---- the -serial/-monitor spellings ---- */

static void child_cli(void)
{
    g_autofree char *sock = NULL;
    g_autofree char *file = NULL;
    g_autofree char *spec = NULL;
    struct chardev *chr;
    struct recorder *r;
    GError *err = NULL;
    unsigned port = free_port();
    char *got;
    int fd;

    child_setup();
    sock = tmp_path("serial.sock");
    file = tmp_path("serial.log");

    g_assert_null(chardev_new_from_cli("none", "serial0", &err));
    g_assert_no_error(err);

    /* The old spelling: server,nowait is server=on,wait=off. */
    spec = g_strdup_printf("unix:%s,server,nowait", sock);
    chr = chardev_new_from_cli(spec, "serial0", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chardev_label(chr), ==, "serial0");
    g_assert_true(chardev_find("serial0") == chr);
    r = rec_attach(chr);
    fd = unix_connect(sock);
    wait_count(&r->opened, 1);
    fd_write(fd, "u");
    rec_wait_for(r, "u");
    close(fd);

    g_free(spec);
    spec = g_strdup_printf("tcp:127.0.0.1:%u,server=on,wait=off", port);
    r = rec_attach(chardev_new_from_cli(spec, "serial1", &err));
    g_assert_no_error(err);
    fd = tcp_connect(port);
    wait_count(&r->opened, 1);
    rec_write(r, "t");
    fd_expect(fd, "t");
    close(fd);

    g_free(spec);
    spec = g_strdup_printf("file:%s", file);
    r = rec_attach(chardev_new_from_cli(spec, "serial2", &err));
    g_assert_no_error(err);
    rec_write(r, "log");
    g_assert_true(g_file_get_contents(file, &got, NULL, NULL));
    g_assert_cmpstr(got, ==, "log");
    g_free(got);

    /* "chardev:ID" is an existing one; "null" and "vc" swallow output. */
    make("null,id=shared");
    g_assert_true(chardev_new_from_cli("chardev:shared", "serial3", &err) ==
                  chardev_find("shared"));
    chr = chardev_new_from_cli("vc", "serial4", &err);
    g_assert_no_error(err);
    g_assert_nonnull(chr);
    g_assert_false(chardev_is_mux(chr));

    /* "mon:" puts a mux in front: ID is the mux, ID-base the back end. */
    chr = chardev_new_from_cli("mon:null", "serial5", &err);
    g_assert_no_error(err);
    g_assert_true(chardev_is_mux(chr));
    g_assert_nonnull(chardev_find("serial5-base"));
    g_assert_false(chardev_is_mux(chardev_find("serial5-base")));
}

/* ---- errors ---- */

static void expect_cli_error(const char *spec, const char *label, int code, const char *msg)
{
    GError *err = NULL;

    g_assert_null(chardev_new_from_cli(spec, label, &err));
    g_assert_error(err, HYVM_ERROR, code);
    g_assert_cmpstr(err->message, ==, msg);
    g_error_free(err);
}

static void child_errors(void)
{
    static const struct {
        const char *opts;
        int code;
        const char *msg;
    } cases[] = {
        { "foo,id=x", HYVM_ERROR_FAILED,
          "-chardev foo,id=x: 'foo' is not a valid char driver name" },
        { "null", HYVM_ERROR_FAILED, "-chardev null: chardev: no id specified" },
        { "id=foo", HYVM_ERROR_FAILED, "-chardev id=foo: chardev: \"foo\" missing backend" },
        { "null,id=1a", HYVM_ERROR_FAILED,
          "-chardev null,id=1a: Parameter 'id' expects an identifier" },
        { "null,id=taken", HYVM_ERROR_FAILED,
          "-chardev null,id=taken: Duplicate ID 'taken' for chardev" },
        { "null,id=n,mux=maybe", HYVM_ERROR_FAILED,
          "-chardev null,id=n,mux=maybe: Parameter 'mux' expects 'on' or 'off'" },
        { "null,id=n,colour=red", HYVM_ERROR_FAILED,
          "-chardev null,id=n,colour=red: Invalid parameter 'colour'" },
        { "file,id=f", HYVM_ERROR_FAILED, "-chardev file,id=f: chardev: file: no filename given" },
        { "file,id=f,path=/nonexistent/x", HYVM_ERROR_FAILED,
          "-chardev file,id=f,path=/nonexistent/x: "
          "Could not open '/nonexistent/x': No such file or directory" },
        { "file,id=f,path=/tmp/x,append=x", HYVM_ERROR_FAILED,
          "-chardev file,id=f,path=/tmp/x,append=x: Parameter 'append' expects 'on' or 'off'" },
        { "pipe,id=p,path=/nonexistent/p", HYVM_ERROR_FAILED,
          "-chardev pipe,id=p,path=/nonexistent/p: "
          "Could not open '/nonexistent/p': No such file or directory" },
        { "socket,id=s", HYVM_ERROR_FAILED, "-chardev socket,id=s: chardev: socket: no host given" },
        { "socket,id=s,host=localhost", HYVM_ERROR_FAILED,
          "-chardev socket,id=s,host=localhost: chardev: socket: no port given" },
        { "socket,id=s,path=/x,host=localhost,port=1", HYVM_ERROR_FAILED,
          "-chardev socket,id=s,path=/x,host=localhost,port=1: "
          "None or one of 'path', 'fd' or 'host' option required." },
        { "socket,id=s,path=/nonexistent/s", HYVM_ERROR_FAILED,
          "-chardev socket,id=s,path=/nonexistent/s: "
          "Failed to connect to '/nonexistent/s': No such file or directory" },
        { "socket,id=s,path=/nonexistent/s,server=on,wait=off", HYVM_ERROR_FAILED,
          "-chardev socket,id=s,path=/nonexistent/s,server=on,wait=off: "
          "Failed to bind socket to /nonexistent/s: No such file or directory" },
        { "socket,id=s,path=/x,server=maybe", HYVM_ERROR_FAILED,
          "-chardev socket,id=s,path=/x,server=maybe: Parameter 'server' expects 'on' or 'off'" },
        { "socket,id=s,path=/x,wait=on", HYVM_ERROR_FAILED,
          "-chardev socket,id=s,path=/x,wait=on: "
          "'wait' option is incompatible with socket in client connect mode" },
        { "socket,id=s,path=/x,server=on,reconnect=1", HYVM_ERROR_FAILED,
          "-chardev socket,id=s,path=/x,server=on,reconnect=1: "
          "'reconnect' option is incompatible with socket in server listen mode" },
        { "socket,id=s,path=/x,reconnect=soon", HYVM_ERROR_FAILED,
          "-chardev socket,id=s,path=/x,reconnect=soon: Parameter 'reconnect' expects a number" },
        { "socket,id=s,path=/x,server=on,telnet=on", HYVM_ERROR_UNSUPPORTED,
          "-chardev socket,id=s,path=/x,server=on,telnet=on: 'telnet' is not supported yet" },
        { "socket,id=s,host=localhost,port=4444,server,telnet", HYVM_ERROR_UNSUPPORTED,
          "-chardev socket,id=s,host=localhost,port=4444,server,telnet: "
          "'telnet' is not supported yet" },
        { "socket,id=s,fd=3", HYVM_ERROR_UNSUPPORTED,
          "-chardev socket,id=s,fd=3: 'fd' is not supported yet" },
        { "stdio,id=s,signal=maybe", HYVM_ERROR_FAILED,
          "-chardev stdio,id=s,signal=maybe: Parameter 'signal' expects 'on' or 'off'" },
        { "ringbuf,id=r", HYVM_ERROR_UNSUPPORTED,
          "-chardev ringbuf,id=r: char driver 'ringbuf' is not supported yet" },
    };
    unsigned port;
    int busy;

    child_setup();
    make("null,id=taken");
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        expect_error(cases[i].opts, cases[i].code, cases[i].msg);
    }
    /* A port someone else has. */
    busy = tcp_listen(&port);
    {
        g_autofree char *opts =
            g_strdup_printf("socket,id=s,host=127.0.0.1,port=%u,server=on,wait=off", port);
        g_autofree char *msg =
            g_strdup_printf("-chardev %s: Failed to find an available port: "
                            "Address already in use", opts);

        expect_error(opts, HYVM_ERROR_FAILED, msg);
    }
    close(busy);
    /* A failed chardev leaves nothing behind under its id. */
    g_assert_null(chardev_find("s"));
    make("null,id=s");

    expect_cli_error("foo:bar", "serial0", HYVM_ERROR_FAILED,
                     "-serial foo:bar: 'foo:bar' is not a valid char driver");
    expect_cli_error("stdio,foo", "serial0", HYVM_ERROR_FAILED,
                     "-serial stdio,foo: 'stdio,foo' is not a valid char driver");
    expect_cli_error("tcp:localhost", "serial0", HYVM_ERROR_FAILED,
                     "-serial tcp:localhost: 'tcp:localhost' is not a valid char driver");
    expect_cli_error("chardev:nope", "serial0", HYVM_ERROR_FAILED,
                     "-serial chardev:nope: could not connect serial device "
                     "to character backend 'chardev:nope'");
    expect_cli_error("telnet::4444,server,nowait", "compat_monitor0", HYVM_ERROR_UNSUPPORTED,
                     "-monitor telnet::4444,server,nowait: "
                     "character backend 'telnet::4444,server,nowait' is not supported yet");
    expect_cli_error("mon:foo", "serial0", HYVM_ERROR_FAILED,
                     "-serial mon:foo: 'foo' is not a valid char driver");
    expect_cli_error("file:/nonexistent/f", "serial1", HYVM_ERROR_FAILED,
                     "-serial file:/nonexistent/f: "
                     "Could not open '/nonexistent/f': No such file or directory");
    make("stdio,id=console");
    expect_cli_error("stdio", "serial0", HYVM_ERROR_FAILED,
                     "-serial stdio: cannot use stdio by multiple character devices");
}

static void run_child(gconstpointer path)
{
    g_test_trap_subprocess(path, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_passed();
}

int main(int argc, char **argv)
{
    static const struct { const char *name; void (*fn)(void); void (*parent)(void); } cases[] = {
        { "null", child_null, NULL },
        { "file-append", child_file, NULL },
        { "pipe", child_pipe, NULL },
        { "unix-server", child_unix_server, NULL },
        { "tcp-server", child_tcp_server, NULL },
        { "unix-client", child_unix_client, NULL },
        { "tcp-client", child_tcp_client, NULL },
        { "client-reconnect", child_client_reconnect, test_client_reconnect },
        { "server-wait", child_server_wait, test_server_wait },
        { "pty", child_pty, NULL },
        { "cli-spellings", child_cli, NULL },
        { "errors", child_errors, NULL },
    };

    g_test_init(&argc, &argv, NULL);
    for (unsigned c = 0; c < G_N_ELEMENTS(cases); c++) {
        char *child = g_strdup_printf("/chardev/subprocess/%s", cases[c].name);
        g_autofree char *parent = g_strdup_printf("/chardev/%s", cases[c].name);

        g_test_add_func(child, cases[c].fn);
        if (cases[c].parent) {
            g_test_add_func(parent, cases[c].parent);
            g_free(child);
        } else {
            g_test_add_data_func_full(parent, child, run_child, g_free);
        }
    }
    return g_test_run();
}
