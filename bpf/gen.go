package bpf

// The XDP program is compiled by bpf2go into filter_bpfel.{go,o} and
// filter_bpfeb.{go,o}, which are committed so that building needs no clang.
// `make generate` recompiles them. The compiler is pinned to clang-14 (and its
// llvm-strip-14): another clang emits other bytes and `make check-generated`
// would fail. Headers come from include/ only (-nostdinc), so the host's
// libbpf and kernel headers play no part in the output.
//
// -mcpu=v3 (kernel 5.1+) gives 32-bit sub-registers and jump instructions; the
// program needs bounded loops (5.3) and the loader needs XDP links (5.9).
//
//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -target bpfel,bpfeb filter filter.c -- -O2 -mcpu=v3 -Wall -Werror -nostdinc -Iinclude
//go:generate go tool stringer -type=Reason,Mode -linecomment -output=enum_string.go
