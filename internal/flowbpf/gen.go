package flowbpf

// The compiled program is committed (flow_bpfel.o and its Go wrapper
// flow_bpfel.go), so that building gohogs needs no clang. After a change to
// flow.c, regenerate with Debian's clang 14 (what CI compares against, see
// .ci/run) and libbpf-dev:
//
//	go generate ./internal/flowbpf/

//go:generate go tool bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel -type flow_key -type flow_val -type event flow flow.c -- -I/usr/include/x86_64-linux-gnu
