/* tests/tftrace.sh: execve with argv and envp addresses it cannot read (EFAULT). */
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	return syscall(SYS_execve, "/bin/true", (char **)8, (char **)16) != -1;
}
