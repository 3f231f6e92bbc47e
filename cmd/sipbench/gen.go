package main

// The frame generator of `flood -inject xdp-live` (livegen.c) is compiled by
// bpf2go into livegen_bpfel.{go,o} and livegen_bpfeb.{go,o}, committed so
// that building needs no clang, with the same pinned compiler and flags as
// bpf/gen.go (see there): headers from include/ only.
//
//go:generate go tool bpf2go -cc clang-14 -strip llvm-strip-14 -target bpfel,bpfeb -go-package main livegen livegen.c -- -O2 -mcpu=v3 -Wall -Werror -nostdinc -Iinclude
