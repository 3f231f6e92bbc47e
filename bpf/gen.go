package bpf

// The XDP program is compiled by bpf2go into filter_bpfel.{go,o} and
// filter_bpfeb.{go,o}, which are committed so that building needs no clang.
// `make generate` recompiles them. The compiler is pinned to clang-14 (and its
// llvm-strip-14): another clang emits other bytes and `make check-generated`
// would fail.
//
// Headers come from include/ only (-nostdinc): include/sipfront_bpf.h, written
// for this program (the few helper ids, map types and constants it uses),
// rather than a copy of libbpf's and the kernel's headers. So the host's
// libbpf and kernel headers play no part in the output, and `make generate`
// needs only clang-14 and llvm-strip-14 (Debian packages clang-14, llvm-14).
//
// -mcpu=v3 (kernel 5.1+) gives 32-bit sub-registers and jump instructions; the
// program needs bpf_loop (5.17) and the loader XDP links (5.9) anyway.
// The second line regenerates enum_string.go (Reason and Mode names).
//
//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -target bpfel,bpfeb filter filter.c -- -O2 -mcpu=v3 -Wall -Werror -nostdinc -Iinclude
//go:generate go tool stringer -type=Reason,Mode -linecomment -output=enum_string.go
