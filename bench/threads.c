/*
 * threads N: creates and joins N threads, one after the other, each doing
 * nothing; then exits. A thread-heavy workload: glibc (2.34+) creates every
 * thread with clone3, which the CLONE_UNTRACED guard stops.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static void *nothing(void *arg)
{
	return arg;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000;

	for (long i = 0; i < n; i++) {
		pthread_t t;

		if (pthread_create(&t, NULL, nothing, NULL) != 0) {
			perror("pthread_create");
			return 1;
		}
		pthread_join(t, NULL);
	}
	return 0;
}
