//! C ABI of the kernel side: install, probe, tracer protocol.
