#ifndef DZ_PIDFD_H
#define DZ_PIDFD_H

#include <sys/syscall.h>
#include <unistd.h>

/* pidfd_open and pidfd_getfd (Linux 5.6) have no glibc wrappers in Debian 12, and syscall() is variadic. */
static inline int dz_pidfd_open(int pid) {
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    return -1;
#endif
}

static inline int dz_pidfd_getfd(int pidfd, int targetfd) {
#ifdef SYS_pidfd_getfd
    return (int)syscall(SYS_pidfd_getfd, pidfd, targetfd, 0);
#else
    return -1;
#endif
}

#endif
