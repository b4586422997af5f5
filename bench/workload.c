/*
 * workload: a syscall-heavy program for the end-to-end figures.
 *
 *   workload [-n CHEAP] [-m OPENS] [-f FILE]
 *
 * Makes CHEAP getppid calls (default 2000000), never traced by the corpus
 * sets the report uses, and OPENS openat+close pairs of FILE (default 2000,
 * FILE default /dev/null): the few traced ones. The opens are spread over
 * the run, one every CHEAP/OPENS cheap calls, as in a real program.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long cheap = 2000000, opens = 2000, every;
	const char *file = "/dev/null";
	int c;

	while ((c = getopt(argc, argv, "n:m:f:")) != -1) {
		switch (c) {
		case 'n': cheap = atol(optarg); break;
		case 'm': opens = atol(optarg); break;
		case 'f': file = optarg; break;
		default:
			fprintf(stderr, "usage: workload [-n CHEAP] [-m OPENS] [-f FILE]\n");
			return 2;
		}
	}
	every = opens > 0 ? cheap / opens : cheap + 1;
	if (every < 1)
		every = 1;
	for (long i = 0, done = 0; i < cheap || done < opens; i++) {
		if (i < cheap)
			syscall(SYS_getppid);
		if (done < opens && (i % every == every - 1 || i >= cheap)) {
			int fd = openat(AT_FDCWD, file, O_RDONLY | O_CLOEXEC);

			if (fd < 0) {
				perror(file);
				return 1;
			}
			close(fd);
			done++;
		}
	}
	return 0;
}
