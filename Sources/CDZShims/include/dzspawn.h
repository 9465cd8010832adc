#ifndef DZ_SPAWN_H
#define DZ_SPAWN_H

#include <sys/resource.h>
#include <sys/types.h>

/* RLIMIT_NPROC is a macro over an enum glibc does not export to Swift. */
static inline int dz_rlimit_nproc(void) { return RLIMIT_NPROC; }
static inline int dz_rlimit_as(void) { return RLIMIT_AS; }

/* A resource limit the child sets before it runs its program. */
typedef struct {
    int resource;
    unsigned long long soft;
    unsigned long long hard;
} dz_spawn_limit;

/*
 * Starts `path` like posix_spawn does for Subprocess (its own process group, default signal dispositions, an
 * empty signal mask, standard streams from `stdin_fd` (or /dev/null when -1), `stdout_fd` and `stderr_fd`, the
 * `pass_count` descriptors of `pass_fds` as 3, 4, ..., every other descriptor closed, `cwd` when not NULL), and
 * before that moves itself into each control group whose `cgroup.procs` file `cgroup_procs` names and sets
 * `limits`: so that the program and everything it forks are in the groups from its first instruction, which
 * posix_spawn cannot do. The child calls only async-signal-safe functions between fork and exec.
 *
 * Returns 0 with the child's pid in `*pid`, or the errno of what failed (in the parent, or in the child before
 * its exec; the child is then reaped).
 */
int dz_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
             int stdin_fd, int stdout_fd, int stderr_fd, const int *pass_fds, int pass_count, const char *cwd,
             const char *const *cgroup_procs, int cgroup_count, const dz_spawn_limit *limits, int limit_count);

#endif
