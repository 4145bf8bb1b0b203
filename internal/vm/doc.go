// Package vm boots a Linux kernel under QEMU with a tiny initramfs whose /init
// is a Go program of this project, and reports that program's exit code.
//
// It exists because the kernels this project's tests need (IPVS, ipip) are
// not always the host's: Debian's linux-image-amd64 has them and boots under
// `qemu-system-x86_64 -accel tcg` in seconds. The initramfs holds only the init
// binary, the shared libraries it needs (if it is dynamically linked), the
// kernel modules asked for with their dependencies, and any extra host
// programs with their libraries. QEMU always runs with `-nic none`: the guest
// has no network but the namespaces its own program creates.
//
// The host side is Run; the guest side is Guest, called first thing by the
// program when IsGuest reports that it is PID 1 of such a VM.
package vm
