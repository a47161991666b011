package main

import (
	"context"
	"fmt"
	"io"
)

// interactive runs the full-screen view (gohogs without -t).
func interactive(ctx context.Context, o *options, stdout, stderr io.Writer) int {
	_ = ctx
	_ = o
	_ = stdout
	fmt.Fprintln(stderr, "gohogs: the interactive view is not built yet; use -t for trace mode")
	return 1
}
