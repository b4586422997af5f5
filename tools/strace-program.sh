#!/bin/sh
# strace-program.sh < STRACE_DEBUG_OUTPUT > PROGRAM: the seccomp program that
# `strace -d --seccomp-bpf ...` dumped, as a raw struct sock_filter array
# (the bytes the kernel takes). The parsing is tools/strace-dump.awk's.
set -eu
escapes=$(awk -f "$(dirname "$0")/strace-dump.awk")
# shellcheck disable=SC2059 # the format is the program: octal escapes only
printf "$escapes"
