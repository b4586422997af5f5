/*
 * prshim: an LD_PRELOAD library that writes the seccomp program a process
 * installs with prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog) to the
 * file $TF_PROOT_DUMP (created, never overwritten: the first install wins)
 * and then installs it as usual. PRoot installs its filter this way in its
 * first tracee, just before execve; seccomp(2) is not caught (PRoot does
 * not use it).
 *
 *   TF_PROOT_DUMP=FILE LD_PRELOAD=prshim.so proot [OPTIONS] /bin/true
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

int prctl(int option, ...)
{
	static int (*real)(int, ...);
	unsigned long a[4];
	const char *path = getenv("TF_PROOT_DUMP");
	va_list ap;

	va_start(ap, option);
	for (int i = 0; i < 4; i++)
		a[i] = va_arg(ap, unsigned long);
	va_end(ap);
	if (option == PR_SET_SECCOMP && a[0] == SECCOMP_MODE_FILTER && a[1] && path) {
		const struct sock_fprog *prog = (const struct sock_fprog *)a[1];
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

		if (fd >= 0) {
			size_t size = prog->len * sizeof(*prog->filter);

			if (write(fd, prog->filter, size) != (ssize_t)size)
				(void)ftruncate(fd, 0);
			close(fd);
		}
	}
	if (!real)
		real = (int (*)(int, ...))dlsym(RTLD_NEXT, "prctl");
	return real(option, a[0], a[1], a[2], a[3]);
}
