/*
 * Type descriptions of hyvm's QMP commands (see qmp-types.h).  Member names
 * and optionality follow QEMU 7.2's schema, which is what a client that
 * introspects with query-qmp-schema looks for.  Deep structures hyvm does
 * not fill yet (block statistics) are described as "any".
 */
#include "qapi/qmp-types.h"

#define OBJECT(var, ...) \
    static const struct qmp_member var##_members[] = { __VA_ARGS__, { NULL } }; \
    const struct qmp_schema_type var = { .meta = QMP_META_OBJECT, .members = var##_members }
#define LOCAL_OBJECT(var, ...) \
    static const struct qmp_member var##_members[] = { __VA_ARGS__, { NULL } }; \
    static const struct qmp_schema_type var = { .meta = QMP_META_OBJECT, \
                                                .members = var##_members }
#define ARRAY_OF(var, elem) \
    const struct qmp_schema_type var = { .meta = QMP_META_ARRAY, .element = &(elem) }
#define ENUM(var, ...) \
    static const char *const var##_values[] = { __VA_ARGS__, NULL }; \
    static const struct qmp_schema_type var = { .meta = QMP_META_ENUM, \
                                                .values = var##_values }

#define STR &qmp_type_str
#define INT &qmp_type_int
#define BOOL &qmp_type_bool
#define ANY &qmp_type_any
#define OPT true

/* ---- arguments ---- */

ENUM(qmp_capability, "oob");
static ARRAY_OF(qmp_capability_list, qmp_capability);
OBJECT(qmp_args_capabilities, { "enable", &qmp_capability_list, OPT });
OBJECT(qmp_args_hmp, { "command-line", STR }, { "cpu-index", INT, OPT });
ENUM(image_format, "ppm", "png");
OBJECT(qmp_args_screendump, { "filename", STR }, { "device", STR, OPT },
       { "head", INT, OPT }, { "format", &image_format, OPT });
OBJECT(qmp_args_device_add, { "driver", STR }, { "bus", STR, OPT }, { "id", STR, OPT });
OBJECT(qmp_args_device_del, { "id", STR });
OBJECT(qmp_args_qom_list, { "path", STR });
OBJECT(qmp_args_qom_get, { "path", STR }, { "property", STR });
OBJECT(qmp_args_qom_set, { "path", STR }, { "property", STR }, { "value", ANY });
OBJECT(qmp_args_block_resize, { "device", STR, OPT }, { "node-name", STR, OPT },
       { "size", INT });
ENUM(new_image_mode, "existing", "absolute-paths");
OBJECT(qmp_args_blockdev_snapshot_sync, { "device", STR, OPT }, { "node-name", STR, OPT },
       { "snapshot-file", STR }, { "snapshot-node-name", STR, OPT }, { "format", STR, OPT },
       { "mode", &new_image_mode, OPT });
OBJECT(qmp_args_eject, { "device", STR, OPT }, { "id", STR, OPT }, { "force", BOOL, OPT });
ENUM(read_only_mode, "retain", "read-only", "read-write");
OBJECT(qmp_args_blockdev_change_medium, { "device", STR, OPT }, { "id", STR, OPT },
       { "filename", STR }, { "format", STR, OPT }, { "force", BOOL, OPT },
       { "read-only-mode", &read_only_mode, OPT });

/* qapi/run-state.json's action enums, in QEMU's order. */
ENUM(reboot_action, "reset", "shutdown");
ENUM(shutdown_action, "poweroff", "pause");
ENUM(panic_action, "pause", "shutdown", "exit-failure", "none");
ENUM(watchdog_action, "reset", "shutdown", "poweroff", "pause", "debug", "none",
     "inject-nmi");
OBJECT(qmp_args_set_action, { "reboot", &reboot_action, OPT },
       { "shutdown", &shutdown_action, OPT }, { "panic", &panic_action, OPT },
       { "watchdog", &watchdog_action, OPT });
OBJECT(qmp_args_watchdog_set_action, { "action", &watchdog_action });
OBJECT(qmp_event_watchdog, { "action", &watchdog_action });

/* ---- returns ---- */

LOCAL_OBJECT(version_triple, { "major", INT }, { "minor", INT }, { "micro", INT });
OBJECT(qmp_ret_version, { "qemu", &version_triple }, { "package", STR });

LOCAL_OBJECT(command_info, { "name", STR });
ARRAY_OF(qmp_ret_commands, command_info);

/* SchemaInfo itself, flattened: its variants are described by the
 * meta-type list of qmp-schema.c's header. */
ENUM(schema_meta_type, "builtin", "enum", "array", "object", "alternate", "command",
     "event");
static ARRAY_OF(str_list, qmp_type_str);
LOCAL_OBJECT(schema_info, { "name", STR }, { "meta-type", &schema_meta_type },
             { "features", &str_list, OPT });
ARRAY_OF(qmp_ret_schema, schema_info);

ENUM(run_state, "debug", "inmigrate", "internal-error", "io-error", "paused",
     "postmigrate", "prelaunch", "finish-migrate", "restore-vm", "running", "save-vm",
     "shutdown", "suspended", "watchdog", "guest-panicked", "colo");
OBJECT(qmp_ret_status, { "running", BOOL }, { "singlestep", BOOL },
       { "status", &run_state });

OBJECT(qmp_ret_kvm, { "enabled", BOOL }, { "present", BOOL });
OBJECT(qmp_ret_name, { "name", STR, OPT });
OBJECT(qmp_ret_uuid, { "UUID", STR });

LOCAL_OBJECT(machine_info, { "name", STR }, { "alias", STR, OPT },
             { "is-default", BOOL, OPT }, { "cpu-max", INT },
             { "hotpluggable-cpus", BOOL }, { "numa-mem-supported", BOOL },
             { "deprecated", BOOL }, { "default-cpu-type", STR, OPT },
             { "default-ram-id", STR, OPT });
ARRAY_OF(qmp_ret_machines, machine_info);

LOCAL_OBJECT(cpu_instance_props, { "node-id", INT, OPT }, { "socket-id", INT, OPT },
             { "die-id", INT, OPT }, { "cluster-id", INT, OPT }, { "core-id", INT, OPT },
             { "thread-id", INT, OPT });
ENUM(sys_emu_target, "aarch64", "alpha", "arm", "avr", "cris", "hppa", "i386",
     "loongarch64", "m68k", "microblaze", "microblazeel", "mips", "mips64", "mips64el",
     "mipsel", "nios2", "or1k", "ppc", "ppc64", "riscv32", "riscv64", "rx", "s390x",
     "sh4", "sh4eb", "sparc", "sparc64", "tricore", "x86_64", "xtensa");
static const struct qmp_variant cpu_info_variants[] = {
    { "x86_64", &qmp_type_empty }, { NULL },
};
static const struct qmp_member cpu_info_members[] = {
    { "cpu-index", INT }, { "qom-path", STR }, { "thread-id", INT },
    { "props", &cpu_instance_props, OPT }, { "target", &sys_emu_target }, { NULL },
};
static const struct qmp_schema_type cpu_info_fast = {
    .meta = QMP_META_OBJECT, .members = cpu_info_members, .tag = "target",
    .variants = cpu_info_variants,
};
ARRAY_OF(qmp_ret_cpus_fast, cpu_info_fast);

LOCAL_OBJECT(hotpluggable_cpu, { "type", STR }, { "vcpus-count", INT },
             { "props", &cpu_instance_props }, { "qom-path", STR, OPT });
ARRAY_OF(qmp_ret_hotpluggable_cpus, hotpluggable_cpu);

LOCAL_OBJECT(chardev_info, { "label", STR }, { "filename", STR },
             { "frontend-open", BOOL });
ARRAY_OF(qmp_ret_chardev, chardev_info);

LOCAL_OBJECT(block_info, { "device", STR }, { "qdev", STR, OPT }, { "type", STR },
             { "removable", BOOL }, { "locked", BOOL }, { "inserted", ANY, OPT },
             { "tray_open", BOOL, OPT }, { "io-status", STR, OPT });
ARRAY_OF(qmp_ret_block, block_info);
LOCAL_OBJECT(block_stats, { "device", STR, OPT }, { "node-name", STR, OPT },
             { "qdev", STR, OPT }, { "stats", ANY }, { "parent", ANY, OPT },
             { "backing", ANY, OPT });
ARRAY_OF(qmp_ret_blockstats, block_stats);

LOCAL_OBJECT(object_property_info, { "name", STR }, { "type", STR },
             { "description", STR, OPT }, { "default-value", ANY, OPT });
ARRAY_OF(qmp_ret_qom_list, object_property_info);
