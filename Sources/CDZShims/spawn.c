#define _GNU_SOURCE
#include "dzspawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Reports `error` to the parent through `pipe_fd` and ends the child. */
static void fail(int pipe_fd, int error) {
    ssize_t ignored = write(pipe_fd, &error, sizeof error);
    (void)ignored;
    _exit(127);
}

int dz_spawn(pid_t *pid, const char *path, char *const argv[], char *const envp[],
             int stdin_fd, int stdout_fd, int stderr_fd, const int *pass_fds, int pass_count, const char *cwd,
             const char *const *cgroup_procs, int cgroup_count, const dz_spawn_limit *limits, int limit_count) {
    if (pass_count < 0 || pass_count > 64) return EINVAL;
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) return errno;
    /* The child's end of the report pipe and the passed descriptors are first copied above every number the
       passed ones go to, so that placing one never overwrites another still to be placed, or the report pipe. */
    int base = 3 + pass_count;
    int moved = fcntl(report[1], F_DUPFD_CLOEXEC, base);
    if (moved < 0) {
        int error = errno;
        close(report[0]);
        close(report[1]);
        return error;
    }
    close(report[1]);
    report[1] = moved;
    int copies[64];
    for (int i = 0; i < pass_count; i++) {
        copies[i] = fcntl(pass_fds[i], F_DUPFD_CLOEXEC, base);
        if (copies[i] < 0) {
            int error = errno;
            for (int j = 0; j < i; j++) close(copies[j]);
            close(report[0]);
            close(report[1]);
            return error;
        }
    }
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid_t child = fork();
    if (child == 0) {
        for (int sig = 1; sig < NSIG; sig++) {
            if (sig == SIGKILL || sig == SIGSTOP) continue;
            struct sigaction action;
            memset(&action, 0, sizeof action);
            action.sa_handler = SIG_DFL;
            sigaction(sig, &action, NULL);
        }
        if (setpgid(0, 0) != 0) fail(report[1], errno);
        for (int i = 0; i < cgroup_count; i++) {
            int fd = open(cgroup_procs[i], O_WRONLY | O_CLOEXEC);
            if (fd < 0) fail(report[1], errno);
            if (write(fd, "0", 1) != 1) fail(report[1], errno);
            close(fd);
        }
        for (int i = 0; i < limit_count; i++) {
            struct rlimit value = {(rlim_t)limits[i].soft, (rlim_t)limits[i].hard};
            if (setrlimit(limits[i].resource, &value) != 0) fail(report[1], errno);
        }
        if (stdin_fd < 0) {
            int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (null_fd < 0 || dup2(null_fd, 0) < 0) fail(report[1], errno);
        } else if (dup2(stdin_fd, 0) < 0) {
            fail(report[1], errno);
        }
        if (dup2(stdout_fd, 1) < 0 || dup2(stderr_fd, 2) < 0) fail(report[1], errno);
        for (int i = 0; i < pass_count; i++) {
            if (dup2(copies[i], 3 + i) < 0) fail(report[1], errno);
        }
        if (cwd != NULL && chdir(cwd) != 0) fail(report[1], errno);
        /* Everything above the passed descriptors goes at exec; the report pipe stays usable until then. */
        if (close_range((unsigned int)(3 + pass_count), ~0U, CLOSE_RANGE_CLOEXEC) != 0) fail(report[1], errno);
        sigset_t none;
        sigemptyset(&none);
        pthread_sigmask(SIG_SETMASK, &none, NULL);
        execve(path, argv, envp);
        fail(report[1], errno);
    }
    int fork_error = child < 0 ? errno : 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    for (int i = 0; i < pass_count; i++) close(copies[i]);
    close(report[1]);
    if (child < 0) {
        close(report[0]);
        return fork_error;
    }
    int child_error = 0;
    ssize_t got;
    do {
        got = read(report[0], &child_error, sizeof child_error);
    } while (got < 0 && errno == EINTR);
    close(report[0]);
    if (got == (ssize_t)sizeof child_error) {
        int status;
        while (waitpid(child, &status, 0) < 0 && errno == EINTR) {}
        return child_error != 0 ? child_error : EIO;
    }
    *pid = child;
    return 0;
}
