package outputs

import "os"

// IsTerminal reports whether f is a character device, which is how a terminal
// shows itself without a terminal library. Other character devices
// (/dev/null) count too; that only makes progress draw to nowhere. A nil f or
// a failing Stat is not a terminal.
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
