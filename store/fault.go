//go:build linux

package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// InjectDiskFull makes every write to s's database file fail as on a full
// disk, until the returned restore function is called. It is a testing aid
// for fault-injection tests and is not used by carebot itself.
//
// It works below bbolt, at the file descriptor: each descriptor of this
// process open on the database file is pointed at /dev/full (dup3), whose
// writes fail with ENOSPC, while a duplicate of the original descriptor
// keeps the file and its lock. A commit therefore fails and bbolt rolls it
// back: one that reuses free pages when it writes them, with ENOSPC; one
// that needs pages beyond the file's high-water mark earlier, when bbolt
// checks the file's size before growing it (it reads 0: "file size too
// small"). Reads go on, since bbolt reads through its memory map. That is
// a disk-full moment at its worst: on a real full disk a commit that only
// rewrites pages the file already has can still succeed.
//
// restore points the descriptors back at the file; it is safe to call more
// than once. Call it before s.Close: a descriptor closed while the fault is
// on is not restored (its duplicate is closed instead, which releases the
// file).
func InjectDiskFull(s *Store) (restore func() error, err error) {
	path, err := filepath.Abs(s.Path())
	if err != nil {
		return nil, fmt.Errorf("inject disk full: %w", err)
	}
	if p, err := filepath.EvalSymlinks(path); err == nil {
		path = p
	}
	fds, err := descriptorsOf(path)
	if err != nil {
		return nil, err
	}
	if len(fds) == 0 {
		return nil, fmt.Errorf("inject disk full: no descriptor of this process is open on %s", path)
	}
	full, err := os.OpenFile("/dev/full", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("inject disk full: %w", err)
	}
	defer full.Close()
	saved := make(map[int]int, len(fds)) // descriptor → duplicate of the original
	var once sync.Once
	var restoreErr error
	restore = func() error {
		once.Do(func() {
			for fd, dup := range saved {
				// Only a descriptor still on /dev/full is ours to put back.
				if target, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd)); err == nil && target == "/dev/full" {
					if err := syscall.Dup3(dup, fd, syscall.O_CLOEXEC); err != nil {
						restoreErr = errors.Join(restoreErr, fmt.Errorf("restore descriptor %d: %w", fd, err))
					}
				}
				if err := syscall.Close(dup); err != nil {
					restoreErr = errors.Join(restoreErr, fmt.Errorf("close duplicate of descriptor %d: %w", fd, err))
				}
			}
		})
		return restoreErr
	}
	for _, fd := range fds {
		dup, err := dupCloexec(fd)
		if err != nil {
			_ = restore()
			return nil, fmt.Errorf("inject disk full: duplicate descriptor %d: %w", fd, err)
		}
		saved[fd] = dup
		if err := syscall.Dup3(int(full.Fd()), fd, syscall.O_CLOEXEC); err != nil {
			_ = restore()
			return nil, fmt.Errorf("inject disk full: point descriptor %d at /dev/full: %w", fd, err)
		}
	}
	return restore, nil
}

// descriptorsOf lists this process's descriptors open on path.
func descriptorsOf(path string) ([]int, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, fmt.Errorf("inject disk full: list descriptors: %w", err)
	}
	var fds []int
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil && target == path {
			fds = append(fds, fd)
		}
	}
	return fds, nil
}

// dupCloexec duplicates fd with the close-on-exec flag, so that a child
// process started meanwhile does not inherit the file and its lock.
func dupCloexec(fd int) (int, error) {
	r, _, errno := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if errno != 0 {
		return -1, errno
	}
	return int(r), nil
}
