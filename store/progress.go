package store

import "io"

// Progress is called once per value transfer with a label and the number of
// bytes to move; the store writes every byte it moves to the returned writer
// and closes it when the transfer ends. A nil Progress reports nothing.
type Progress func(label string, total int64) io.WriteCloser
