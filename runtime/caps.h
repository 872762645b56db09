/* Linux capabilities as Docker computes them for a container: the name table
 * (CAP_CHOWN = 0 .. CAP_CHECKPOINT_RESTORE = 40), Docker's default set, and
 * HostConfig.CapAdd / CapDrop / Privileged folded into one 64-bit mask (bit n
 * is capability n) that berth-init applies. Pure functions, no global state. */
#ifndef BERTH_RUNTIME_CAPS_H
#define BERTH_RUNTIME_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

#define CAPS_LAST   40 /* CAP_CHECKPOINT_RESTORE */
#define CAPS_COUNT  (CAPS_LAST + 1)
#define CAPS_BIT(c) (UINT64_C(1) << (c))
/* Every capability berth knows by name. */
#define CAPS_ALL_KNOWN (CAPS_BIT(CAPS_COUNT) - 1)

/* Docker's default set (moby oci/caps/defaults.go): CHOWN, DAC_OVERRIDE,
 * FSETID, FOWNER, MKNOD, NET_RAW, SETGID, SETUID, SETFCAP, SETPCAP,
 * NET_BIND_SERVICE, SYS_CHROOT, KILL, AUDIT_WRITE. */
uint64_t caps_default_mask(void);

/* "CAP_CHOWN" for 0, ...; NULL when cap is out of range. */
const char *caps_name(int cap);

/* Parses one capability name as Docker does: case-insensitive, with or
 * without the "CAP_" prefix. "ALL" is not a capability here. Returns the
 * capability number, or -EINVAL. */
int caps_from_name(const char *name);

/* Reads the daemon's bounding set (CapBnd in /proc/self/status). */
int caps_read_bounding(uint64_t *ret_mask);

/* Finds "<field>:\t<hex>" in the text of a /proc/<pid>/status file. */
int caps_parse_status(const char *status, const char *field, uint64_t *ret_mask);

/* Docker's TweakCapabilities (moby oci/caps/utils.go), against the
 * capabilities this daemon can grant (`bounding`, from caps_read_bounding):
 *  - privileged: every capability in `bounding`, add/drop ignored;
 *  - no add and no drop: the default set;
 *  - "ALL" in add: every capability in `bounding` but those dropped;
 *  - "ALL" in drop: only the added ones;
 *  - else the default set, minus drop, plus add.
 * Every name in add and drop is checked first: an unknown one fails with 400
 * `unknown capability: "CAP_FOO"`, a known one outside `bounding` with 400
 * `capability not supported by your kernel or not available in the current
 * environment: "CAP_SYS_RESOURCE"` (what dockerd >= 25 says; runc would fail
 * with EPERM at start otherwise). The default set is intersected with
 * `bounding` silently, so a restricted daemon still starts containers. */
int caps_compute(const char *const *add, size_t nadd, const char *const *drop, size_t ndrop,
                 bool privileged, uint64_t bounding, uint64_t *ret_mask, struct berr *err);

/* Fills ret_names with the "CAP_*" names of the bits set in mask, lowest
 * first, at most max of them; returns how many bits are set (known ones). */
size_t caps_to_names(uint64_t mask, const char **ret_names, size_t max);

#endif
