/* tests/tftrace.sh: an i386 tracee (-m32): open fails with ENOENT, then execve. */
#include <fcntl.h>
#include <unistd.h>
int main(void)
{
	if (open("/nonexistent/32", O_RDONLY) != -1)
		return 1;
	execl("/bin/true", "true", "32", (char *)0);
	return 1;
}
