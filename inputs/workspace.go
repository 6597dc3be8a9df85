package inputs

// The workspace: the directory every file of a step stays inside. Paths are
// checked lexically (no ".." out of it, no absolute path elsewhere) and then
// looked up through an os.Root opened on it, which follows symbolic links
// only as long as they stay inside (and refuses absolute ones): a link in
// the checkout cannot make the step upload a file from elsewhere on the
// runner, or write one there.

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/manifesto-dev/manifesto/internal/errdef"
)

// workspace is the directory every file of a step stays inside.
type workspace struct {
	dir  string // absolute and clean, as the system names it
	real string // dir with symbolic links resolved
	root *os.Root
}

// workspace finds the checkout directory the system names, or the working
// directory, and opens it.
func (b *stepBuilder) workspace() (workspace, error) {
	variable := workspaceVar(b.sys)
	dir, src := "", "the working directory"
	if variable != "" {
		dir = strings.TrimSpace(b.getenv(variable))
		if dir != "" {
			src = variable
		}
	}
	if dir == "" || !filepath.IsAbs(dir) {
		wd, err := b.wd()
		if err != nil {
			return workspace{}, err
		}
		dir = filepath.Join(wd, dir)
	}
	dir = filepath.Clean(dir)
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return workspace{}, errdef.Usagef("workspace %q (%s): %v", dir, src, pathErr(err))
	}
	root, err := os.OpenRoot(real)
	if err != nil {
		return workspace{}, errdef.Usagef("workspace %q (%s) is not a directory", dir, src)
	}
	return workspace{dir: dir, real: real, root: root}, nil
}

// close releases the workspace's root, if it was opened.
func (w workspace) close() {
	if w.root != nil {
		w.root.Close()
	}
}

// abs resolves p against the workspace.
func (w workspace) abs(p string) string {
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(w.dir, p)
}

// rel is path (absolute and clean) relative to the workspace, under either
// of its spellings; ok is false when path is not inside it.
func (w workspace) rel(path string) (rel string, ok bool) {
	for _, dir := range []string{w.dir, w.real} {
		if r, err := filepath.Rel(dir, path); err == nil && r != ".." && !strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return r, true
		}
	}
	return "", false
}

// resolve makes f's value an absolute path and its name inside the
// workspace, refusing a directory name (trailing '/') and a path outside.
func (w workspace) resolve(f opField, dirHint string) (path, rel string, err error) {
	if err := checkPathChars(f.value, f.label()); err != nil {
		return "", "", err
	}
	if strings.HasSuffix(f.value, "/") {
		return "", "", errdef.Usagef("%s %q names a directory; %s", f.label(), f.value, dirHint)
	}
	path = w.abs(f.value)
	rel, ok := w.rel(path)
	if !ok {
		return "", "", errdef.Usagef("%s %q is outside the workspace %q (%s)", f.label(), f.value, w.dir, path)
	}
	return path, rel, nil
}

// escapes reports whether err is os.Root refusing a path that leaves the
// root: through a symbolic link, since the name itself stays inside.
func escapes(err error) bool {
	want := rootEscape()
	return want != nil && errors.Is(err, want)
}

// rootEscape is the error value os.Root gives for a path that leaves it.
// The os package does not export it, so it is taken once from a root asked
// for its parent and compared by identity, never by its text. Should that
// ever fail, escapes reports false and the path is still refused, with the
// generic "cannot be read" message.
var rootEscape = sync.OnceValue(func() error {
	r, err := os.OpenRoot(os.TempDir())
	if err != nil {
		return nil
	}
	defer r.Close()
	_, err = r.Lstat("..")
	var pe *fs.PathError
	if !errors.As(err, &pe) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
		return nil
	}
	return pe.Err
})

func (w workspace) escaped(f opField) error {
	return errdef.Usagef("%s %q leads through a symbolic link outside the workspace %q", f.label(), f.value, w.dir)
}

// inputFile resolves put's file: inside the workspace, also after following
// symbolic links, and an existing, readable regular file.
func (w workspace) inputFile(f opField) (string, error) {
	path, rel, err := w.resolve(f, "put stores the contents of one file")
	if err != nil {
		return "", err
	}
	fi, err := w.root.Stat(rel)
	switch {
	case escapes(err):
		return "", w.escaped(f)
	case errors.Is(err, fs.ErrNotExist):
		return "", f.wrap(errdef.Usagef("file %q does not exist", path))
	case err != nil:
		return "", f.wrap(errdef.Usagef("file %q cannot be read: %v", path, pathErr(err)))
	case fi.IsDir():
		return "", f.wrap(errdef.Usagef("file %q is a directory; put stores the contents of one file", path))
	case !fi.Mode().IsRegular():
		return "", errdef.Usagef("%s %q is not a regular file", f.label(), f.value)
	}
	file, err := w.root.Open(rel)
	if err != nil {
		return "", f.wrap(errdef.Usagef("file %q cannot be read: %v", path, pathErr(err)))
	}
	_ = file.Close() // opened only to check it can be; nothing was read
	return path, nil
}

// outputFile resolves get's file: inside the workspace, also after following
// the symbolic links of the parts that exist; an existing file must be a
// regular file. Nothing is created.
func (w workspace) outputFile(f opField) (string, error) {
	path, rel, err := w.resolve(f, "give a file name")
	if err != nil {
		return "", err
	}
	fi, err := w.root.Stat(rel)
	switch {
	case err == nil && fi.IsDir():
		return "", errdef.Usagef("%s %q is a directory; give a file name", f.label(), f.value)
	case err == nil && !fi.Mode().IsRegular():
		return "", errdef.Usagef("%s %q exists and is not a regular file", f.label(), f.value)
	case err == nil:
		return path, nil
	case escapes(err):
		return "", w.escaped(f)
	}
	if _, lerr := w.root.Lstat(rel); lerr == nil {
		// The name exists but cannot be followed: a dangling link, a loop.
		return "", errdef.Usagef("%s %q is a symbolic link that cannot be followed: %v", f.label(), f.value, pathErr(err))
	}
	// The file does not exist: its nearest existing ancestor must be a
	// directory inside the workspace.
	for dir := filepath.Dir(rel); ; dir = filepath.Dir(dir) {
		fi, err := w.root.Stat(dir)
		switch {
		case err == nil && fi.IsDir():
			return path, nil
		case err == nil:
			return "", errdef.Usagef("%s %q: %q is not a directory", f.label(), f.value, filepath.Join(w.dir, dir))
		case escapes(err):
			return "", w.escaped(f)
		case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
			return "", errdef.Usagef("%s %q: directory %q: %v", f.label(), f.value, filepath.Join(w.dir, dir), pathErr(err))
		}
		if dir == "." {
			return "", errdef.Usagef("%s %q: no directory on its path exists", f.label(), f.value)
		}
	}
}

// outputsFile checks the outputs file rel (inside the workspace) through the
// root, as outputFile checks get's file: no symbolic link on its way, its own
// included, may lead outside the workspace; an existing file must be a
// regular file; its directory must exist (nothing creates it).
func (w workspace) outputsFile(f opField, rel string) error {
	fi, err := w.root.Stat(rel)
	switch {
	case err == nil && fi.IsDir():
		return errdef.Usagef("%s %q is a directory; give a file name", f.label(), f.value)
	case err == nil && !fi.Mode().IsRegular():
		return errdef.Usagef("%s %q exists and is not a regular file", f.label(), f.value)
	case err == nil:
		return nil
	case escapes(err):
		return w.escaped(f)
	}
	if _, lerr := w.root.Lstat(rel); lerr == nil {
		return errdef.Usagef("%s %q is a symbolic link that cannot be followed: %v", f.label(), f.value, pathErr(err))
	}
	dir := filepath.Dir(rel)
	fi, err = w.root.Stat(dir)
	switch {
	case escapes(err):
		return w.escaped(f)
	case errors.Is(err, fs.ErrNotExist):
		return errdef.Usagef("%s %q: directory %q does not exist", f.label(), f.value, filepath.Join(w.dir, dir))
	case err != nil:
		return errdef.Usagef("%s %q: directory %q: %v", f.label(), f.value, filepath.Join(w.dir, dir), pathErr(err))
	case !fi.IsDir():
		return errdef.Usagef("%s %q: %q is not a directory", f.label(), f.value, filepath.Join(w.dir, dir))
	}
	return nil
}
