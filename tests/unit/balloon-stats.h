/*
 * What QEMU 7.2 answers for a balloon's "guest-stats" QOM property before
 * its driver has reported anything: every statistic at UINT64_MAX, in
 * QEMU's order, and last-update 0.  Shared by the device's unit test and
 * the QMP test, which both compare replies with it to the letter.
 */
#ifndef HYVM_TESTS_BALLOON_STATS_H
#define HYVM_TESTS_BALLOON_STATS_H

#define BALLOON_GUEST_STATS_UNREPORTED                                  \
    "{\"stats\": {\"stat-htlb-pgalloc\": 18446744073709551615, "        \
    "\"stat-swap-out\": 18446744073709551615, "                         \
    "\"stat-available-memory\": 18446744073709551615, "                 \
    "\"stat-htlb-pgfail\": 18446744073709551615, "                      \
    "\"stat-free-memory\": 18446744073709551615, "                      \
    "\"stat-minor-faults\": 18446744073709551615, "                     \
    "\"stat-major-faults\": 18446744073709551615, "                     \
    "\"stat-total-memory\": 18446744073709551615, "                     \
    "\"stat-swap-in\": 18446744073709551615, "                          \
    "\"stat-disk-caches\": 18446744073709551615}, \"last-update\": 0}"

#endif
