/*
 * QMP's command table: one static const row per command with its handler
 * and argument schema.  The dispatcher checks arguments against the schema
 * before a handler runs, and query-commands lists the same rows.
 *
 * Threads: main thread, big lock held.
 */
#include <string.h>
#include <unistd.h>

#include "accel/accel.h"
#include "chardev/chardev.h"
#include "hw/device.h"
#include "machine/machine.h"
#include "qapi/monitor.h"
#include "qapi/qmp-balloon.h"
#include "qapi/qmp-block.h"
#include "qapi/qmp-internal.h"
#include "qapi/qmp-net.h"
#include "qapi/qmp-types.h"
#include "qapi/qom.h"
#include "system/config.h"
#include "system/cpus.h"
#include "system/runstate.h"


static JsonNode *empty_return(void)
{
    return json_node_init_object(json_node_alloc(), json_object_new());
}

bool qmp_check_args(const struct qmp_command *cmd, JsonObject *args, GError **errp)
{
    return qmp_schema_check_args(cmd->arg_type ? cmd->arg_type->members : NULL,
                                 cmd->extra_args_ok, args, errp);
}

/* ---- handlers ---- */

static JsonNode *qmp_capabilities(JsonObject *args, GError **errp)
{
    JsonArray *enable = json_object_has_member(args, "enable")
                            ? json_object_get_array_member(args, "enable") : NULL;

    for (guint i = 0; enable && i < json_array_get_length(enable); i++) {
        JsonNode *n = json_array_get_element(enable, i);

        if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                        "Invalid parameter type for 'enable[%u]', expected: string", i);
            return NULL;
        }
        if (strcmp(json_node_get_string(n), "oob")) {
            g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                        "Parameter 'enable[%u]' does not accept value '%s'", i,
                        json_node_get_string(n));
            return NULL;
        }
    }
    return empty_return();
}

static JsonNode *qmp_query_version(JsonObject *args, GError **errp)
{
    return qmp_version_node();
}

static const struct qmp_command qmp_commands[];

static JsonNode *qmp_query_commands(JsonObject *args, GError **errp)
{
    JsonArray *list = json_array_new();

    for (const struct qmp_command *c = qmp_commands; c->name; c++) {
        JsonObject *o = json_object_new();

        json_object_set_string_member(o, "name", c->name);
        json_array_add_object_element(list, o);
    }
    return json_node_init_array(json_node_alloc(), list);
}

static JsonNode *qmp_query_status(JsonObject *args, GError **errp)
{
    JsonObject *o = json_object_new();

    json_object_set_string_member(o, "status", runstate_name(runstate_get()));
    json_object_set_boolean_member(o, "singlestep", false);
    json_object_set_boolean_member(o, "running", runstate_is_running());
    return json_node_init_object(json_node_alloc(), o);
}

static JsonNode *qmp_query_kvm(JsonObject *args, GError **errp)
{
    JsonObject *o = json_object_new();
    struct machine *m = machine_current();
    bool on = m && m->accel && !strcmp(m->accel->name, "kvm");

    json_object_set_boolean_member(o, "enabled", on);
    /* QEMU's "present" means built with KVM support, which hyvm always is. */
    json_object_set_boolean_member(o, "present", true);
    return json_node_init_object(json_node_alloc(), o);
}

static JsonNode *qmp_query_name(JsonObject *args, GError **errp)
{
    JsonObject *o = json_object_new();

    struct machine *m = machine_current();

    if (m && m->cfg && m->cfg->name) {
        json_object_set_string_member(o, "name", m->cfg->name);
    }
    return json_node_init_object(json_node_alloc(), o);
}

static JsonNode *qmp_query_uuid(JsonObject *args, GError **errp)
{
    JsonObject *o = json_object_new();
    struct machine *m = machine_current();
    static const uint8_t nil[16];
    const uint8_t *u = m && m->cfg && m->cfg->has_uuid ? m->cfg->uuid : nil;
    g_autofree char *str = g_strdup_printf(
        "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2],
        u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);

    /* QEMU reports the nil UUID when -uuid was not given. */
    json_object_set_string_member(o, "UUID", str);
    return json_node_init_object(json_node_alloc(), o);
}

/*
 * x86's CPU topology properties of vCPU index, as QEMU derives them from
 * -smp (x86_topo_ids_from_idx): die-id only when there is more than one die.
 */
static JsonObject *cpu_props(const struct hyvm_config *c, unsigned index)
{
    unsigned threads = c && c->smp_threads ? c->smp_threads : 1;
    unsigned cores = c && c->smp_cores ? c->smp_cores : 1;
    unsigned dies = c && c->smp_dies ? c->smp_dies : 1;
    JsonObject *p = json_object_new();

    json_object_set_int_member(p, "core-id", (index / threads) % cores);
    json_object_set_int_member(p, "thread-id", index % threads);
    if (dies > 1) {
        json_object_set_int_member(p, "die-id", (index / (threads * cores)) % dies);
    }
    json_object_set_int_member(p, "socket-id", index / (threads * cores * dies));
    return p;
}

/* QEMU's QOM path of a CPU on pc and microvm: device[1] goes to another
 * object created between the first and second CPU. */
static JsonNode *qmp_query_cpus_fast(JsonObject *args, GError **errp)
{
    struct machine *m = machine_current();
    JsonArray *list = json_array_new();

    for (unsigned i = 0; m && m->cpus && i < m->ncpus; i++) {
        struct vcpu *cpu = m->cpus[i];
        JsonObject *o = json_object_new();
        g_autofree char *path = qom_cpu_path(i);
        /* Before its thread runs a vCPU has no TID; report the process as
         * info cpus does. */
        int tid = cpu && cpu->thread_id ? cpu->thread_id : (int)getpid();

        json_object_set_int_member(o, "thread-id", tid);
        json_object_set_object_member(o, "props", cpu_props(m->cfg, i));
        json_object_set_string_member(o, "qom-path", path);
        json_object_set_int_member(o, "cpu-index", i);
        json_object_set_string_member(o, "target", "x86_64");
        json_array_add_object_element(list, o);
    }
    return json_node_init_array(json_node_alloc(), list);
}

static JsonNode *qmp_query_hotpluggable_cpus(JsonObject *args, GError **errp)
{
    struct machine *m = machine_current();
    JsonArray *list = json_array_new();

    /* microvm has no CPU hot-plug; QEMU's words for a machine without it. */
    if (!m || !m->type || !strcmp(m->type->name, "microvm")) {
        json_array_unref(list);
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "The feature 'query-hotpluggable-cpus' is not enabled");
        return NULL;
    }
    /* QEMU lists the slots last first. */
    for (unsigned i = m->ncpus; i-- > 0;) {
        JsonObject *o = json_object_new();
        g_autofree char *path = qom_cpu_path(i);

        json_object_set_object_member(o, "props", cpu_props(m->cfg, i));
        json_object_set_int_member(o, "vcpus-count", 1);
        json_object_set_string_member(o, "qom-path", path);
        json_object_set_string_member(o, "type", "qemu64-x86_64-cpu");
        json_array_add_object_element(list, o);
    }
    return json_node_init_array(json_node_alloc(), list);
}

/* MachineInfo of t, with the name of its alias if it has one, in QEMU's
 * member order. */
static void machine_info_add(JsonArray *list, const struct machine_type *t)
{
    const struct machine_type *a;
    const char *alias = NULL;
    JsonObject *o = json_object_new();

    for (unsigned k = 0; (a = machine_type_at(k)); k++) {
        if (a->alias && !strcmp(a->alias, t->name)) {
            alias = a->name;
        }
    }
    json_object_set_boolean_member(o, "hotpluggable-cpus", t->hotpluggable_cpus);
    json_object_set_string_member(o, "name", t->name);
    json_object_set_boolean_member(o, "numa-mem-supported", false);
    json_object_set_string_member(o, "default-cpu-type", "qemu64-x86_64-cpu");
    if (t->is_default) {
        json_object_set_boolean_member(o, "is-default", true);
    }
    json_object_set_int_member(o, "cpu-max", t->max_cpus);
    json_object_set_boolean_member(o, "deprecated", false);
    if (t->ram_id) {
        json_object_set_string_member(o, "default-ram-id", t->ram_id);
    }
    if (alias) {
        json_object_set_string_member(o, "alias", alias);
    }
    json_array_add_object_element(list, o);
}

/* Every type but the aliases (they fold into their target); the default
 * first, as QEMU lists them. */
static JsonNode *qmp_query_machines(JsonObject *args, GError **errp)
{
    JsonArray *list = json_array_new();
    const struct machine_type *t;

    for (int pass = 0; pass < 2; pass++) {
        for (unsigned i = 0; (t = machine_type_at(i)); i++) {
            if (!t->alias && t->is_default == (pass == 0)) {
                machine_info_add(list, t);
            }
        }
    }
    return json_node_init_array(json_node_alloc(), list);
}

static void chardev_info_add(struct chardev *chr, void *opaque)
{
    JsonObject *o = json_object_new();
    g_autofree char *filename = chardev_filename(chr);

    json_object_set_boolean_member(o, "frontend-open", chardev_frontend_open(chr));
    json_object_set_string_member(o, "filename", filename);
    json_object_set_string_member(o, "label", chardev_label(chr));
    json_array_add_object_element(opaque, o);
}

static JsonNode *qmp_query_chardev(JsonObject *args, GError **errp)
{
    JsonArray *list = json_array_new();

    chardev_foreach(chardev_info_add, list);
    return json_node_init_array(json_node_alloc(), list);
}

/* QEMU's qmp_stop(): only a running VM stops; a paused one stays as is. */
static JsonNode *qmp_stop(JsonObject *args, GError **errp)
{
    if (runstate_is_running()) {
        vm_stop(RUN_STATE_PAUSED);
    }
    return empty_return();
}

static JsonNode *qmp_cont(JsonObject *args, GError **errp)
{
    enum run_state s = runstate_get();

    /* QEMU's runstate_needs_reset() states. */
    if (s == RUN_STATE_INTERNAL_ERROR || s == RUN_STATE_SHUTDOWN ||
        s == RUN_STATE_GUEST_PANICKED) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Resetting the Virtual Machine is required");
        return NULL;
    }
    vm_start();
    return empty_return();
}

static JsonNode *qmp_quit(JsonObject *args, GError **errp)
{
    vm_request_exit(0, SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    return empty_return();
}

static JsonNode *qmp_system_reset(JsonObject *args, GError **errp)
{
    vm_request_reset(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
    return empty_return();
}

static JsonNode *qmp_system_powerdown(JsonObject *args, GError **errp)
{
    struct machine *m = machine_current();

    if (!vm_request_powerdown()) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "The machine '%s' has no ACPI power button in hyvm yet",
                    m && m->type ? m->type->name : "none");
        return NULL;
    }
    return empty_return();
}

/* An enum member's value by its name in names (the schema checked it). */
static int action_index(JsonObject *args, const char *key, const char *const *names)
{
    const char *v = json_object_get_string_member(args, key);

    for (int i = 0; v && names[i]; i++) {
        if (!strcmp(v, names[i])) {
            return i;
        }
    }
    return -1;
}

/* set-action: -action at run time; members left out keep their action. */
static JsonNode *qmp_set_action(JsonObject *args, GError **errp)
{
    struct vm_actions a = *runstate_actions();

    if (json_object_has_member(args, "reboot")) {
        a.reboot = (enum reboot_action)action_index(args, "reboot", reboot_action_names);
    }
    if (json_object_has_member(args, "shutdown")) {
        a.shutdown = (enum shutdown_action)action_index(args, "shutdown",
                                                        shutdown_action_names);
    }
    if (json_object_has_member(args, "panic")) {
        a.panic = (enum panic_action)action_index(args, "panic", panic_action_names);
    }
    if (json_object_has_member(args, "watchdog")) {
        a.watchdog = (enum watchdog_action)action_index(args, "watchdog",
                                                        watchdog_action_names);
    }
    runstate_set_actions(&a);
    return empty_return();
}

static JsonNode *qmp_watchdog_set_action(JsonObject *args, GError **errp)
{
    struct vm_actions a = *runstate_actions();

    a.watchdog = (enum watchdog_action)action_index(args, "action", watchdog_action_names);
    runstate_set_actions(&a);
    return empty_return();
}

/* NMI to every vCPU, as QEMU's x86 machines do. */
static JsonNode *qmp_inject_nmi(JsonObject *args, GError **errp)
{
    struct machine *m = machine_current();

    if (!m || !m->accel || !m->accel->vcpu_nmi) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "this command is not currently supported");
        return NULL;
    }
    for (unsigned i = 0; i < m->ncpus && m->cpus; i++) {
        m->accel->vcpu_nmi(m->cpus[i]);
    }
    return empty_return();
}

static JsonNode *qmp_screendump(JsonObject *args, GError **errp)
{
    /* QEMU's words when no graphical console exists. */
    g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                "There is no console to take a screendump from");
    return NULL;
}

/* QEMU's answer for the ISA devices hyvm has: their bus takes no
 * hot-plug.  Other buses come with hot-plug itself. */
static void device_hotplug_error(const struct device_type *t, GError **errp)
{
    if (!strcmp(t->bus, "ISA")) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "Bus 'isa.0' does not support hotplugging");
    } else {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "device_add and device_del are not supported yet: hyvm has no "
                    "hot-plug for %s devices", t->bus);
    }
}

static JsonNode *qmp_device_add(JsonObject *args, GError **errp)
{
    const char *driver = json_object_get_string_member(args, "driver");
    const struct device_type *t = device_type_find(driver);

    if (!t) {
        g_set_error(errp, QMP_ERROR, QMP_ERROR_GENERIC,
                    "'%s' is not a valid device model name", driver);
        return NULL;
    }
    device_hotplug_error(t, errp);
    return NULL;
}

static JsonNode *qmp_device_del(JsonObject *args, GError **errp)
{
    const char *id = json_object_get_string_member(args, "id");
    struct machine *m = machine_current();
    const struct hyvm_config *cfg = m ? m->cfg : NULL;

    for (guint i = 0; cfg && cfg->devices && i < cfg->devices->len; i++) {
        const struct dev_config *d = g_ptr_array_index(cfg->devices, i);

        if (d->id && !strcmp(d->id, id)) {
            device_hotplug_error(d->type, errp);
            return NULL;
        }
    }
    g_set_error(errp, QMP_ERROR, QMP_ERROR_DEVICE_NOT_FOUND, "Device '%s' not found", id);
    return NULL;
}

static JsonNode *qmp_human_monitor_command(JsonObject *args, GError **errp)
{
    g_autofree char *out = hmp_execute(json_object_get_string_member(args, "command-line"));
    return json_node_init_string(json_node_alloc(), out ? out : "");
}

/* ---- the table ---- */

static JsonNode *qmp_query_qmp_schema(JsonObject *args, GError **errp)
{
    return qmp_schema_introspect();
}

static const struct qmp_command qmp_commands[] = {
    { "qmp_capabilities", qmp_capabilities, &qmp_args_capabilities },
    { "query-version", qmp_query_version, NULL, &qmp_ret_version },
    { "query-commands", qmp_query_commands, NULL, &qmp_ret_commands },
    { "query-qmp-schema", qmp_query_qmp_schema, NULL, &qmp_ret_schema },
    { "query-status", qmp_query_status, NULL, &qmp_ret_status },
    { "query-kvm", qmp_query_kvm, NULL, &qmp_ret_kvm },
    { "query-name", qmp_query_name, NULL, &qmp_ret_name },
    { "query-uuid", qmp_query_uuid, NULL, &qmp_ret_uuid },
    { "query-machines", qmp_query_machines, NULL, &qmp_ret_machines },
    { "query-cpus-fast", qmp_query_cpus_fast, NULL, &qmp_ret_cpus_fast },
    { "query-hotpluggable-cpus", qmp_query_hotpluggable_cpus, NULL,
      &qmp_ret_hotpluggable_cpus },
    { "query-chardev", qmp_query_chardev, NULL, &qmp_ret_chardev },
    { "query-block", qmp_query_block, NULL, &qmp_ret_block },
    { "query-blockstats", qmp_query_blockstats, NULL, &qmp_ret_blockstats },
    { "block_resize", qmp_block_resize, &qmp_args_block_resize },
    { "blockdev-snapshot-sync", qmp_blockdev_snapshot_sync,
      &qmp_args_blockdev_snapshot_sync },
    { "eject", qmp_eject, &qmp_args_eject },
    { "blockdev-change-medium", qmp_blockdev_change_medium,
      &qmp_args_blockdev_change_medium },
    { "stop", qmp_stop },
    { "cont", qmp_cont },
    { "quit", qmp_quit },
    { "system_reset", qmp_system_reset },
    { "system_powerdown", qmp_system_powerdown },
    { "inject-nmi", qmp_inject_nmi },
    { "set-action", qmp_set_action, &qmp_args_set_action },
    { "watchdog-set-action", qmp_watchdog_set_action, &qmp_args_watchdog_set_action },
    { "screendump", qmp_screendump, &qmp_args_screendump },
    { "device_add", qmp_device_add, &qmp_args_device_add, .extra_args_ok = true },
    { "device_del", qmp_device_del, &qmp_args_device_del },
    { "human-monitor-command", qmp_human_monitor_command, &qmp_args_hmp, &qmp_type_str },
    { "qom-list", qmp_qom_list, &qmp_args_qom_list, &qmp_ret_qom_list },
    { "qom-get", qmp_qom_get, &qmp_args_qom_get, &qmp_type_any },
    { "qom-set", qmp_qom_set, &qmp_args_qom_set },
    { "balloon", qmp_balloon, &qmp_args_balloon },
    { "query-balloon", qmp_query_balloon, NULL, &qmp_ret_balloon_info },
    /* netdev_add and object-add check their union's variant members
     * themselves (qmp-net.c). */
    { "netdev_add", qmp_netdev_add, &qmp_args_netdev_add, .extra_args_ok = true },
    { "netdev_del", qmp_netdev_del, &qmp_args_netdev_del },
    { "set_link", qmp_set_link, &qmp_args_set_link },
    { "object-add", qmp_object_add, &qmp_args_object_add, .extra_args_ok = true },
    { "object-del", qmp_object_del, &qmp_args_object_del },
    { NULL },
};

const struct qmp_command *qmp_command_at(unsigned i)
{
    return i < G_N_ELEMENTS(qmp_commands) - 1 ? &qmp_commands[i] : NULL;
}

const struct qmp_command *qmp_command_find(const char *name)
{
    for (const struct qmp_command *c = qmp_commands; c->name; c++) {
        if (!strcmp(c->name, name)) {
            return c;
        }
    }
    return NULL;
}
