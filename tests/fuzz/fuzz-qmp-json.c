/*
 * Fuzz target: QMP input as a client sends it.  The bytes go through the
 * splitter, QEMU's lexer/parser check and json-glib into a session that
 * has negotiated, so the command dispatcher and argument checks run too
 * (commands that would end or stop the VM are harmless here: there is no
 * VM).  Nothing may crash, leak past ASan or read out of bounds.
 */
#include <string.h>

#include "qapi/qmp.h"
#include "tests/fuzz/fuzz.h"

const char fuzz_target_name[] = "qmp-json";

const struct fuzz_seed fuzz_seeds[] = {
    FUZZ_SEED("{\"execute\": \"qmp_capabilities\"}"),
    FUZZ_SEED("{\"execute\": \"query-status\", \"id\": [1, {\"a\": null}]}"),
    FUZZ_SEED("{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"/machine\", "
              "\"property\": \"type\"}}"),
    FUZZ_SEED("{\"execute\": \"qom-list\", \"arguments\": {\"path\": \"device[0]\"}}"),
    FUZZ_SEED("{\"execute\": \"screendump\", \"arguments\": {\"filename\": \"x\", "
              "\"format\": \"png\"}}"),
    FUZZ_SEED("{'execute': 'query-name', 'id': 'it\\'s \\u00e9 \\ud83d\\ude00'}"),
    FUZZ_SEED("{\"execute\": \"query-qmp-schema\", \"id\": 18446744073709551615}"),
    FUZZ_SEED("{\"execute\": \"human-monitor-command\", \"arguments\": "
              "{\"command-line\": \"info registers\"}}"),
    FUZZ_SEED("[[[[{\"a\": -1.5e300}]]]] {\"x\": 01} \"\\x\" tru @"),
    { NULL },
};

static void sink(void *opaque, const char *text, size_t len)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char caps[] = "{\"execute\": \"qmp_capabilities\"}";
    struct qmp_session *s = qmp_session_new(sink, NULL);

    qmp_session_open(s);
    qmp_session_feed(s, caps, strlen(caps));
    qmp_session_feed(s, (const char *)data, size);
    qmp_session_free(s);
    return 0;
}
