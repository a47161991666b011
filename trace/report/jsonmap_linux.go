package report

import (
	"os"
	"syscall"
)

// mapFile maps the first size bytes of f, read only, to be read in order.
func mapFile(f *os.File, size int) ([]byte, error) {
	data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	syscall.Madvise(data, syscall.MADV_SEQUENTIAL) // a hint only
	return data, nil
}

func unmapFile(data []byte) { syscall.Munmap(data) }

// madvPopulateRead is MADV_POPULATE_READ (Linux 5.14), not in syscall.
const madvPopulateRead = 22

// populate maps the pages of data[from:to] at once (data is the whole
// mapping), ahead of the worker that reads them: one call instead of a
// fault every few pages (a hint: older kernels refuse it, and the faults
// come as before).
func populate(data []byte, from, to int) {
	from &^= os.Getpagesize() - 1 // madvise takes whole pages
	if to > from {
		syscall.Madvise(data[from:to], madvPopulateRead)
	}
}

// dropPages drops the pages of data[from:to] (data is the whole mapping),
// a chunk counted, from the mapping (they stay in the page cache); a page
// it shares with a chunk still being read is read again from the cache if
// need be.
func dropPages(data []byte, from, to int) {
	page := os.Getpagesize()
	from &^= page - 1
	to = min(len(data), (to+page-1)&^(page-1))
	if to > from {
		syscall.Madvise(data[from:to], syscall.MADV_DONTNEED)
	}
}
