/*
 * The argument and return types of hyvm's QMP commands, with QEMU's member
 * names (the qapi schema files of QEMU 7.2).  Used by the command table only.
 */
#ifndef HYVM_QMP_TYPES_H
#define HYVM_QMP_TYPES_H

#include "qapi/qmp-schema.h"

extern const struct qmp_schema_type
    qmp_args_capabilities, qmp_args_hmp, qmp_args_screendump, qmp_args_device_add,
    qmp_args_device_del, qmp_args_qom_list, qmp_args_qom_get, qmp_args_qom_set, qmp_args_block_resize,
    qmp_args_blockdev_snapshot_sync, qmp_args_eject, qmp_args_blockdev_change_medium,
    qmp_args_set_action, qmp_args_watchdog_set_action, qmp_event_watchdog;

extern const struct qmp_schema_type
    qmp_ret_version, qmp_ret_commands, qmp_ret_schema, qmp_ret_status, qmp_ret_kvm,
    qmp_ret_name, qmp_ret_uuid, qmp_ret_machines, qmp_ret_cpus_fast,
    qmp_ret_hotpluggable_cpus, qmp_ret_chardev, qmp_ret_block, qmp_ret_blockstats,
    qmp_ret_qom_list;

#endif
