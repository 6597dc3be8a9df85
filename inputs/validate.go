package inputs

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/manifesto-dev/manifesto/internal/errdef"
	"github.com/manifesto-dev/manifesto/internal/mediatype"
	"github.com/manifesto-dev/manifesto/store"
)

// checkEmptyFlags rejects string flags given on the command line with an
// empty value (--platform "" is almost always an unset shell variable).
func checkEmptyFlags(cmd *cobra.Command) error {
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if err == nil && f.Value.Type() == "string" && f.Value.String() == "" {
			err = errdef.Usagef("--%s is empty; leave the flag out instead", f.Name)
		}
	})
	return err
}

func checkImage(image string, plainHTTP bool) error {
	_, err := store.ParseImage(image, plainHTTP)
	return err
}

func checkKey(key string) error {
	return store.CheckKey(key)
}

// checkPathChars refuses a file name with a control character (newline,
// carriage return, tab, escape, ...) or a Unicode line or paragraph
// separator: printed, such a name could end a log line and start another
// (a forged GitHub workflow command), and no build tool needs one. It is
// checked before anything touches the file or the network.
func checkPathChars(path, src string) error {
	if i := strings.IndexFunc(path, func(r rune) bool {
		return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
	}); i >= 0 {
		r, _ := utf8.DecodeRuneInString(path[i:])
		return errdef.Usagef("%s %q contains the control character %U; file names with control characters are refused", src, path, r)
	}
	return nil
}

// checkInputFile accepts '-' or an existing, readable regular file.
func checkInputFile(path string) error {
	if err := checkPathChars(path, "file"); err != nil {
		return err
	}
	switch path {
	case "-":
		return nil
	case "":
		return errdef.Usagef("FILE is empty: give a file name, or '-' for standard input")
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return errdef.Usagef("file %q does not exist", path)
		}
		return errdef.Usagef("file %q cannot be read: %v", path, pathErr(err))
	}
	if fi.IsDir() {
		return errdef.Usagef("file %q is a directory; put stores the contents of one file", path)
	}
	if !fi.Mode().IsRegular() {
		return errdef.Usagef("file %q is not a regular file; to store a stream, pipe it in with FILE '-'", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return errdef.Usagef("file %q cannot be read: %v", path, pathErr(err))
	}
	_ = f.Close() // opened only to check it can be; nothing was read
	return nil
}

// checkOutputFile accepts a path that is not a directory and whose parent
// directory exists.
func checkOutputFile(path, src string) error {
	if err := checkPathChars(path, src); err != nil {
		return err
	}
	if strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(os.PathSeparator)) {
		return errdef.Usagef("%s %q names a directory; give a file name", src, path)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return errdef.Usagef("%s %q is a directory; give a file name", src, path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errdef.Usagef("%s %q: directory %q does not exist", src, path, dir)
	case err != nil:
		return errdef.Usagef("%s %q: directory %q: %v", src, path, dir, pathErr(err))
	case !fi.IsDir():
		return errdef.Usagef("%s %q: %q is not a directory", src, path, dir)
	}
	return nil
}

// pathErr drops the operation and path from an *fs.PathError, which the
// callers already name.
func pathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkMediaType applies the media type rule (package mediatype, RFC 6838
// restricted-name as the OCI image spec uses it), shared with the checks of
// entries read back from the registry.
func checkMediaType(mt, src string) error {
	if mediatype.Valid(mt) {
		return nil
	}
	why := "want type/subtype[+suffix], e.g. application/json or application/spdx+json"
	switch {
	case strings.Contains(mt, ";"):
		why = "parameters (;...) are not allowed; " + why
	case strings.ContainsFunc(mt, func(r rune) bool { return r == ' ' || r == '\t' || r == '\n' || r == '\r' }):
		why = "it contains white space; " + why
	}
	return errdef.Usagef("%s %q is not a valid media type: %s", src, mt, why)
}

func checkDigest(d, src string) error {
	if _, err := v1.NewHash(d); err != nil {
		return errdef.Usagef("%s %q is not a valid digest (want sha256:<64 hex digits>): %v", src, d, err)
	}
	return nil
}

var platformPart = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*$`)

// checkPlatform accepts os/arch[/variant], every part non-empty lower case.
func checkPlatform(p, src string) error {
	parts := strings.Split(p, "/")
	ok := len(parts) == 2 || len(parts) == 3
	for _, part := range parts {
		ok = ok && platformPart.MatchString(part)
	}
	if !ok {
		return errdef.Usagef("%s %q is not a valid platform: want os/arch[/variant] in lower case, e.g. linux/amd64 or linux/arm64/v8", src, p)
	}
	return nil
}

// parseTimeout reads a --timeout: a Go duration greater than zero.
func parseTimeout(v, src string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(v))
	if err != nil || d <= 0 {
		return 0, errdef.Usagef("%s %q is not a valid timeout: want a Go duration greater than zero, e.g. 90s or 10m", src, v)
	}
	return d, nil
}
