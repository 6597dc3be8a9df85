// Package atomicfile is the one way manifesto writes a file that a reader
// must see either whole or not at all: a value written by get, a blob or
// index of an OCI layout, a dotenv report, a Tekton result, an outputs file.
//
// The rule, defined here only: write to a temporary file in the destination's
// directory (so the rename never crosses a file system), fsync it, close it,
// rename it over the destination. The temporary file gets the mode a plain
// create would (0666 less the umask), unlike os.CreateTemp's 0600, so the
// result has the permissions the user's other files have and nothing needs a
// chmod after the rename. On any failure the temporary file is removed and
// the destination is left as it was.
package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
)

// File is a temporary file that becomes its destination on Commit. It is
// an *os.File: write to it, seek it, read it back before committing.
type File struct {
	*os.File
	closed bool
	done   bool
}

// Create makes a new temporary file in dir (os.TempDir() when empty), named
// prefix followed by random characters, opened for reading and writing with
// mode 0666 less the umask. Commit it or Abort it.
func Create(dir, prefix string) (*File, error) {
	if dir == "" {
		dir = os.TempDir()
	}
	for range 100 {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(filepath.Join(dir, prefix+hex.EncodeToString(b[:])), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &File{File: f}, nil
	}
	return nil, errors.New("atomicfile: no free name in " + dir)
}

// Sync flushes the file to stable storage and closes it; after it the file
// can only be committed, read by name or aborted. Commit calls it; call it
// yourself to read the finished file by name before deciding where it goes.
func (f *File) Sync() error {
	if f.closed {
		return nil
	}
	err := f.File.Sync()
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	f.closed = true
	return err
}

// Commit syncs and closes the file and renames it to path. On failure the
// temporary file is removed.
func (f *File) Commit(path string) error {
	if f.done {
		return errors.New("atomicfile: " + f.Name() + " was already committed or aborted")
	}
	err := f.Sync()
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		f.Abort()
		return err
	}
	f.done = true
	return nil
}

// Abort closes and removes the temporary file. It does nothing after
// Commit, so `defer f.Abort()` is the way to clean up on every error path.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	if !f.closed {
		f.File.Close()
		f.closed = true
	}
	os.Remove(f.Name())
}

// Write writes path atomically with what write produces.
func Write(path string, write func(io.Writer) error) error {
	f, err := Create(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit(path)
}

// WriteFile writes data to path atomically.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
