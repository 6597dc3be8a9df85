// Package tempfile creates the temporary files that manifesto renames into
// place. Unlike os.CreateTemp (always 0600), they get the mode a plain
// create would (0666 less the umask), so a value written by get, a blob of an
// OCI layout or a dotenv report has the permissions the user's other files
// have, and nothing needs a chmod after the rename.
package tempfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
)

// Create makes a new file in dir (os.TempDir() when empty) named prefix
// followed by random characters, opened for reading and writing.
func Create(dir, prefix string) (*os.File, error) {
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
		return f, err
	}
	return nil, errors.New("tempfile: no free name in " + dir)
}
