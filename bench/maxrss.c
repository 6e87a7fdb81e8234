/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * maxrss COMMAND [ARGS...]: run COMMAND and print its peak resident set on
 * stderr, last, as "maxrss_kb N" (its exit status is maxrss's).
 *
 * Why not the parent's own wait4(): a child's ru_maxrss counts the memory
 * it had before exec, which for a child of Python or of a big daemon is a
 * copy of the parent.  This program is small, so the number is the
 * command's own (GNU time does the same, but is not on every machine).
 */
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
        struct rusage ru;
        int status;
        pid_t pid;

        if (argc < 2) {
                fprintf(stderr, "usage: maxrss COMMAND [ARGS...]\n");
                return 2;
        }
        pid = fork();
        if (pid < 0)
                return 127;
        if (pid == 0) {
                execvp(argv[1], argv + 1);
                _exit(127);
        }
        if (wait4(pid, &status, 0, &ru) < 0)
                return 127;
        fprintf(stderr, "maxrss_kb %ld\n", ru.ru_maxrss);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
