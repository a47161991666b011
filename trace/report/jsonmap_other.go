//go:build !linux

package report

import (
	"errors"
	"os"
)

// Elsewhere than on Linux, JSON logs are read, not mapped.
func mapFile(*os.File, int) ([]byte, error) { return nil, errors.ErrUnsupported }
func unmapFile([]byte)                      {}
func dropPages([]byte, int, int)            {}
func populate([]byte, int, int)             {}
