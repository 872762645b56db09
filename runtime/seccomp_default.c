/* Docker's default seccomp profile as a C table. Facts from moby
 * profiles/seccomp/default.json (defaultAction SCMP_ACT_ERRNO, errno EPERM;
 * the allowlist; personality, socket and clone argument rules; clone3 ->
 * ENOSYS; capability- and architecture-gated groups). Restated here so the
 * daemon needs no profile file; keep it in step with moby when it changes. */
#include <errno.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/socket.h>

#include <seccomp.h>

#include "common/macros.h"
#include "runtime/caps.h"
#include "runtime/seccomp.h"

/* includes/excludes "arches" lists, evaluated for the build host: moby
 * compares them with its own GOARCH name, so "x86"/"x32" never match on amd64. */
#define NATIVE SECCOMP_ARCHES_NATIVE
#define OTHER  SECCOMP_ARCHES_OTHER
#if defined(__x86_64__)
#define ON_AMD64_X32     NATIVE
#define ON_AMD64_X32_X86 NATIVE
#elif defined(__i386__)
#define ON_AMD64_X32     OTHER
#define ON_AMD64_X32_X86 NATIVE
#else
#define ON_AMD64_X32     OTHER
#define ON_AMD64_X32_X86 OTHER
#endif
#if defined(__aarch64__) || defined(__arm__)
#define ON_ARM NATIVE
#else
#define ON_ARM OTHER
#endif
#if defined(__s390x__) || defined(__s390__)
#define ON_S390 NATIVE
#else
#define ON_S390 OTHER
#endif
#if defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
#define ON_PPC64LE NATIVE
#else
#define ON_PPC64LE OTHER
#endif
#if defined(__riscv) && __riscv_xlen == 64
#define ON_RISCV64 NATIVE
#else
#define ON_RISCV64 OTHER
#endif

#define KV(major, minor) ((uint32_t)(major) << 16 | (uint32_t)(minor))
#define CAP(c)           ((uint64_t)1 << (c))
#define NAMES(a)         .names = a, .nnames = ARRAY_SIZE(a)
#define ARGS(a)          .args = a, .nargs = ARRAY_SIZE(a)

static const char *const allow_always[] = {
    "accept",
    "accept4",
    "access",
    "adjtimex",
    "alarm",
    "bind",
    "brk",
    "capget",
    "capset",
    "chdir",
    "chmod",
    "chown",
    "chown32",
    "clock_adjtime",
    "clock_adjtime64",
    "clock_getres",
    "clock_getres_time64",
    "clock_gettime",
    "clock_gettime64",
    "clock_nanosleep",
    "clock_nanosleep_time64",
    "close",
    "close_range",
    "connect",
    "copy_file_range",
    "creat",
    "dup",
    "dup2",
    "dup3",
    "epoll_create",
    "epoll_create1",
    "epoll_ctl",
    "epoll_ctl_old",
    "epoll_pwait",
    "epoll_pwait2",
    "epoll_wait",
    "epoll_wait_old",
    "eventfd",
    "eventfd2",
    "execve",
    "execveat",
    "exit",
    "exit_group",
    "faccessat",
    "faccessat2",
    "fadvise64",
    "fadvise64_64",
    "fallocate",
    "fanotify_mark",
    "fchdir",
    "fchmod",
    "fchmodat",
    "fchown",
    "fchown32",
    "fchownat",
    "fcntl",
    "fcntl64",
    "fdatasync",
    "fgetxattr",
    "flistxattr",
    "flock",
    "fork",
    "fremovexattr",
    "fsetxattr",
    "fstat",
    "fstat64",
    "fstatat64",
    "fstatfs",
    "fstatfs64",
    "fsync",
    "ftruncate",
    "ftruncate64",
    "futex",
    "futex_time64",
    "futex_waitv",
    "futimesat",
    "getcpu",
    "getcwd",
    "getdents",
    "getdents64",
    "getegid",
    "getegid32",
    "geteuid",
    "geteuid32",
    "getgid",
    "getgid32",
    "getgroups",
    "getgroups32",
    "getitimer",
    "getpeername",
    "getpgid",
    "getpgrp",
    "getpid",
    "getppid",
    "getpriority",
    "getrandom",
    "getresgid",
    "getresgid32",
    "getresuid",
    "getresuid32",
    "getrlimit",
    "get_robust_list",
    "getrusage",
    "getsid",
    "getsockname",
    "getsockopt",
    "get_thread_area",
    "gettid",
    "gettimeofday",
    "getuid",
    "getuid32",
    "getxattr",
    "inotify_add_watch",
    "inotify_init",
    "inotify_init1",
    "inotify_rm_watch",
    "io_cancel",
    "ioctl",
    "io_destroy",
    "io_getevents",
    "io_pgetevents",
    "io_pgetevents_time64",
    "ioprio_get",
    "ioprio_set",
    "io_setup",
    "io_submit",
    "io_uring_enter",
    "io_uring_register",
    "io_uring_setup",
    "ipc",
    "kill",
    "landlock_add_rule",
    "landlock_create_ruleset",
    "landlock_restrict_self",
    "lchown",
    "lchown32",
    "lgetxattr",
    "link",
    "linkat",
    "listen",
    "listxattr",
    "llistxattr",
    "_llseek",
    "lremovexattr",
    "lseek",
    "lsetxattr",
    "lstat",
    "lstat64",
    "madvise",
    "membarrier",
    "memfd_create",
    "memfd_secret",
    "mincore",
    "mkdir",
    "mkdirat",
    "mknod",
    "mknodat",
    "mlock",
    "mlock2",
    "mlockall",
    "mmap",
    "mmap2",
    "mprotect",
    "mq_getsetattr",
    "mq_notify",
    "mq_open",
    "mq_timedreceive",
    "mq_timedreceive_time64",
    "mq_timedsend",
    "mq_timedsend_time64",
    "mq_unlink",
    "mremap",
    "msgctl",
    "msgget",
    "msgrcv",
    "msgsnd",
    "msync",
    "munlock",
    "munlockall",
    "munmap",
    "name_to_handle_at",
    "nanosleep",
    "newfstatat",
    "_newselect",
    "open",
    "openat",
    "openat2",
    "pause",
    "pidfd_open",
    "pidfd_send_signal",
    "pipe",
    "pipe2",
    "pkey_alloc",
    "pkey_free",
    "pkey_mprotect",
    "poll",
    "ppoll",
    "ppoll_time64",
    "prctl",
    "pread64",
    "preadv",
    "preadv2",
    "prlimit64",
    "process_mrelease",
    "pselect6",
    "pselect6_time64",
    "pwrite64",
    "pwritev",
    "pwritev2",
    "read",
    "readahead",
    "readlink",
    "readlinkat",
    "readv",
    "recv",
    "recvfrom",
    "recvmmsg",
    "recvmmsg_time64",
    "recvmsg",
    "remap_file_pages",
    "removexattr",
    "rename",
    "renameat",
    "renameat2",
    "restart_syscall",
    "rmdir",
    "rseq",
    "rt_sigaction",
    "rt_sigpending",
    "rt_sigprocmask",
    "rt_sigqueueinfo",
    "rt_sigreturn",
    "rt_sigsuspend",
    "rt_sigtimedwait",
    "rt_sigtimedwait_time64",
    "rt_tgsigqueueinfo",
    "sched_getaffinity",
    "sched_getattr",
    "sched_getparam",
    "sched_get_priority_max",
    "sched_get_priority_min",
    "sched_getscheduler",
    "sched_rr_get_interval",
    "sched_rr_get_interval_time64",
    "sched_setaffinity",
    "sched_setattr",
    "sched_setparam",
    "sched_setscheduler",
    "sched_yield",
    "seccomp",
    "select",
    "semctl",
    "semget",
    "semop",
    "semtimedop",
    "semtimedop_time64",
    "send",
    "sendfile",
    "sendfile64",
    "sendmmsg",
    "sendmsg",
    "sendto",
    "setfsgid",
    "setfsgid32",
    "setfsuid",
    "setfsuid32",
    "setgid",
    "setgid32",
    "setgroups",
    "setgroups32",
    "setitimer",
    "setpgid",
    "setpriority",
    "setregid",
    "setregid32",
    "setresgid",
    "setresgid32",
    "setresuid",
    "setresuid32",
    "setreuid",
    "setreuid32",
    "setrlimit",
    "set_robust_list",
    "setsid",
    "setsockopt",
    "set_thread_area",
    "set_tid_address",
    "setuid",
    "setuid32",
    "setxattr",
    "shmat",
    "shmctl",
    "shmdt",
    "shmget",
    "shutdown",
    "sigaltstack",
    "signalfd",
    "signalfd4",
    "sigprocmask",
    "sigreturn",
    "socketcall",
    "socketpair",
    "splice",
    "stat",
    "stat64",
    "statfs",
    "statfs64",
    "statx",
    "symlink",
    "symlinkat",
    "sync",
    "sync_file_range",
    "syncfs",
    "sysinfo",
    "tee",
    "tgkill",
    "time",
    "timer_create",
    "timer_delete",
    "timer_getoverrun",
    "timer_gettime",
    "timer_gettime64",
    "timer_settime",
    "timer_settime64",
    "timerfd_create",
    "timerfd_gettime",
    "timerfd_gettime64",
    "timerfd_settime",
    "timerfd_settime64",
    "times",
    "tkill",
    "truncate",
    "truncate64",
    "ugetrlimit",
    "umask",
    "uname",
    "unlink",
    "unlinkat",
    "utime",
    "utimensat",
    "utimensat_time64",
    "utimes",
    "vfork",
    "vmsplice",
    "wait4",
    "waitid",
    "waitpid",
    "write",
    "writev",
};

static const char *const ptrace_new_kernels[] = {"process_vm_readv", "process_vm_writev", "ptrace"};
static const char *const n_socket[] = {"socket"};
static const char *const n_personality[] = {"personality"};
static const char *const ppc64le_only[] = {"sync_file_range2", "swapcontext"};
static const char *const arm_only[] = {"arm_fadvise64_64", "arm_sync_file_range",
                                       "sync_file_range2", "breakpoint",
                                       "cacheflush",       "set_tls"};
static const char *const n_arch_prctl[] = {"arch_prctl"};
static const char *const n_modify_ldt[] = {"modify_ldt"};
static const char *const s390_only[] = {"s390_pci_mmio_read", "s390_pci_mmio_write",
                                        "s390_runtime_instr"};
static const char *const n_riscv_flush_icache[] = {"riscv_flush_icache"};
static const char *const n_open_by_handle_at[] = {"open_by_handle_at"};
static const char *const sys_admin[] = {
    "bpf",           "clone",         "clone3",      "fanotify_init",   "fsconfig",
    "fsmount",       "fsopen",        "fspick",      "lookup_dcookie",  "mount",
    "mount_setattr", "move_mount",    "open_tree",   "perf_event_open", "quotactl",
    "quotactl_fd",   "setdomainname", "sethostname", "setns",           "syslog",
    "umount",        "umount2",       "unshare",
};
static const char *const n_clone[] = {"clone"};
static const char *const n_clone3[] = {"clone3"};
static const char *const n_reboot[] = {"reboot"};
static const char *const n_chroot[] = {"chroot"};
static const char *const sys_module[] = {"delete_module", "init_module", "finit_module"};
static const char *const n_acct[] = {"acct"};
static const char *const sys_ptrace[] = {
    "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"};
static const char *const sys_rawio[] = {"iopl", "ioperm"};
static const char *const sys_time[] = {"settimeofday", "stime", "clock_settime", "clock_settime64"};
static const char *const n_vhangup[] = {"vhangup"};
static const char *const sys_nice[] = {"get_mempolicy", "mbind", "set_mempolicy",
                                       "set_mempolicy_home_node"};
static const char *const n_syslog[] = {"syslog"};
static const char *const n_bpf[] = {"bpf"};
static const char *const n_perf_event_open[] = {"perf_event_open"};

/* The namespace flags an unprivileged clone must not carry. */
#define CLONE_NS_FLAGS                                                                             \
    (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET |     \
     CLONE_NEWCGROUP)

static const struct seccomp_arg socket_not_vsock[] = {{0, SCMP_CMP_NE, AF_VSOCK, 0}};
static const struct seccomp_arg pers_linux[] = {{0, SCMP_CMP_EQ, 0x0, 0}};
static const struct seccomp_arg pers_linux32[] = {{0, SCMP_CMP_EQ, 0x0008, 0}};
static const struct seccomp_arg pers_uname26[] = {{0, SCMP_CMP_EQ, 0x20000, 0}};
static const struct seccomp_arg pers_uname26_32[] = {{0, SCMP_CMP_EQ, 0x20008, 0}};
static const struct seccomp_arg pers_query[] = {{0, SCMP_CMP_EQ, 0xffffffff, 0}};
static const struct seccomp_arg clone_no_ns[] = {{0, SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0}};
/* s390 passes clone's flags as the second argument. */
static const struct seccomp_arg clone_no_ns_s390[] = {{1, SCMP_CMP_MASKED_EQ, CLONE_NS_FLAGS, 0}};

#define ALLOW SCMP_ACT_ALLOW

static const struct seccomp_rule default_rules[] = {
    {NAMES(allow_always), .action = ALLOW},
    {NAMES(ptrace_new_kernels), .action = ALLOW, .includes = {.min_kernel = KV(4, 8)}},
    {NAMES(n_socket), .action = ALLOW, ARGS(socket_not_vsock)},
    {NAMES(n_personality), .action = ALLOW, ARGS(pers_linux)},
    {NAMES(n_personality), .action = ALLOW, ARGS(pers_linux32)},
    {NAMES(n_personality), .action = ALLOW, ARGS(pers_uname26)},
    {NAMES(n_personality), .action = ALLOW, ARGS(pers_uname26_32)},
    {NAMES(n_personality), .action = ALLOW, ARGS(pers_query)},
    {NAMES(ppc64le_only), .action = ALLOW, .includes = {.arches = ON_PPC64LE}},
    {NAMES(arm_only), .action = ALLOW, .includes = {.arches = ON_ARM}},
    {NAMES(n_arch_prctl), .action = ALLOW, .includes = {.arches = ON_AMD64_X32}},
    {NAMES(n_modify_ldt), .action = ALLOW, .includes = {.arches = ON_AMD64_X32_X86}},
    {NAMES(s390_only), .action = ALLOW, .includes = {.arches = ON_S390}},
    {NAMES(n_riscv_flush_icache), .action = ALLOW, .includes = {.arches = ON_RISCV64}},
    {NAMES(n_open_by_handle_at), .action = ALLOW, .includes = {.caps = CAP(CAP_DAC_READ_SEARCH)}},
    {NAMES(sys_admin), .action = ALLOW, .includes = {.caps = CAP(CAP_SYS_ADMIN)}},
    {NAMES(n_clone), .action = ALLOW, ARGS(clone_no_ns),
     .excludes = {.caps = CAP(CAP_SYS_ADMIN), .arches = ON_S390}},
    {NAMES(n_clone), .action = ALLOW, ARGS(clone_no_ns_s390), .includes = {.arches = ON_S390},
     .excludes = {.caps = CAP(CAP_SYS_ADMIN)}},
    {NAMES(n_clone3), .action = SCMP_ACT_ERRNO(ENOSYS), .excludes = {.caps = CAP(CAP_SYS_ADMIN)}},
    {NAMES(n_reboot), .action = ALLOW, .includes = {.caps = CAP(CAP_SYS_BOOT)}},
    {NAMES(n_chroot), .action = ALLOW, .includes = {.caps = CAP(CAP_SYS_CHROOT)}},
    {NAMES(sys_module), .action = ALLOW, .includes = {.caps = CAP(CAP_SYS_MODULE)}},
    {NAMES(n_acct), .action = ALLOW, .includes = {.caps = CAP(CAP_SYS_PACCT)}},
    {NAMES(sys_ptrace), .action = ALLOW, .includes = {.caps = CAP(CAP_SYS_PTRACE)}},
    {NAMES(sys_rawio), .action = ALLOW, .includes = {.caps = CAP(CAP_SYS_RAWIO)}},
    {NAMES(sys_time), .action = ALLOW, .includes = {.caps = CAP(CAP_SYS_TIME)}},
    {NAMES(n_vhangup), .action = ALLOW, .includes = {.caps = CAP(CAP_SYS_TTY_CONFIG)}},
    {NAMES(sys_nice), .action = ALLOW, .includes = {.caps = CAP(CAP_SYS_NICE)}},
    {NAMES(n_syslog), .action = ALLOW, .includes = {.caps = CAP(CAP_SYSLOG)}},
    {NAMES(n_bpf), .action = ALLOW, .includes = {.caps = CAP(CAP_BPF)}},
    {NAMES(n_perf_event_open), .action = ALLOW, .includes = {.caps = CAP(CAP_PERFMON)}},
};

/* Docker's archMap entry for the host: the native architecture plus the
 * ones its kernel also runs. */
#if defined(__x86_64__)
static const uint32_t default_arches[] = {SCMP_ARCH_X86, SCMP_ARCH_X32};
#elif defined(__aarch64__)
static const uint32_t default_arches[] = {SCMP_ARCH_ARM};
#elif defined(__s390x__)
static const uint32_t default_arches[] = {SCMP_ARCH_S390};
#else
static const uint32_t default_arches[] = {0};
#define DEFAULT_ARCHES_NONE 1
#endif

static const struct seccomp_profile default_profile = {
    .default_action = SCMP_ACT_ERRNO(EPERM),
    .arches = default_arches,
#ifdef DEFAULT_ARCHES_NONE
    .narches = 0,
#else
    .narches = ARRAY_SIZE(default_arches),
#endif
    .rules = default_rules,
    .nrules = ARRAY_SIZE(default_rules),
};

const struct seccomp_profile *seccomp_default_profile(void)
{
    return &default_profile;
}
