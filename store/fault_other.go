//go:build !linux

package store

import (
	"errors"
	"runtime"
)

// InjectDiskFull makes every write to s's database file fail as on a full
// disk; it needs Linux (/proc/self/fd and /dev/full) and returns an error
// elsewhere, so that fault-injection tests skip.
func InjectDiskFull(s *Store) (restore func() error, err error) {
	return nil, errors.New("inject disk full: not supported on " + runtime.GOOS)
}
