//go:build windows

package storage

import (
	"errors"
	"os"
	"syscall"
)

// tryLock opens the file without sharing: a second open fails with a
// sharing violation until the first handle is closed (by the process or
// by Windows when the process ends).
func tryLock(path string) (*os.File, error) {
	p, err := syscall.UTF16PtrFromString(path)
	if err != nil {
		return nil, err
	}
	h, err := syscall.CreateFile(p, syscall.GENERIC_READ|syscall.GENERIC_WRITE, 0, nil, syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, errSharingViolation) {
			return nil, errLockHeld
		}
		return nil, err
	}
	return os.NewFile(uintptr(h), path), nil
}

func unlockFile(f *os.File) { f.Close() }

// errSharingViolation is ERROR_SHARING_VIOLATION (winerror.h), which the
// syscall package does not name.
const errSharingViolation syscall.Errno = 32
