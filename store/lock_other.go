//go:build !unix

package store

import (
	"errors"
	"os"
	"time"
)

// lockFile takes an exclusive lock by creating path exclusively, waiting up
// to a minute for another holder. Unlike the unix flock, a crashed holder
// leaves the file behind; the error says which file to remove.
func lockFile(path string) (func(), error) {
	deadline := time.Now().Add(time.Minute)
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644)
		if err == nil {
			f.Close()
			return func() { os.Remove(path) }, nil
		}
		if !errors.Is(err, os.ErrExist) || time.Now().After(deadline) {
			return nil, errors.New("cannot lock " + path + " (remove it if no manifesto process is running)")
		}
		time.Sleep(50 * time.Millisecond)
	}
}
