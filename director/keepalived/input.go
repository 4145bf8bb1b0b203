package keepalived

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Limits on what the importer reads and builds, so that a wrong path, an
// include loop, a $ definition used many times or a group of address
// ranges cannot exhaust memory or time.
const (
	maxIncludeDepth = 16
	// maxInputSize bounds the text read, all files together, and, apart,
	// the text after $ expansion.
	maxInputSize = 64 << 20
	// maxLineSize bounds one line, as read and after $ expansion
	// (keepalived's own limit is 1024 bytes).
	maxLineSize = 1 << 20
	// maxExpandDepth bounds $ definitions that expand to others.
	maxExpandDepth = 32
	// maxServices bounds the services made, virtual_server_group members
	// counted one by one.
	maxServices = 1 << 16
	// maxDestinations bounds the real servers of all services together.
	maxDestinations = 1 << 20
	// maxVRRPTracks bounds the items sync groups track, counted once for
	// each member they are copied to.
	maxVRRPTracks = 1 << 20
)

// LimitError is a configuration larger than the importer reads: more
// input (after includes and $ expansion), a longer line, or more services
// or real servers than its limits allow. Limit names the limit.
type LimitError struct {
	File  string
	Line  int
	Limit string // e.g. "64 MiB of input after includes and $ expansion"
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("keepalived: %s:%d: more than %s (the importer's limit)", e.File, e.Line, e.Limit)
}

// vrrpTracksLimit is the text of maxVRRPTracks.
var vrrpTracksLimit = fmt.Sprintf("%d items tracked by sync groups, counted once per member", maxVRRPTracks)

// inputLimit is the text of maxInputSize.
var inputLimit = fmt.Sprintf("%d MiB of input after includes and $ expansion", maxInputSize>>20)

// readFile reads a configuration file of at most budget bytes. Only a
// regular file is read: a device (/dev/zero), a FIFO or a directory is
// refused before it is opened, and a file whose size is over the budget
// (a sparse file) before anything is read.
func readFile(name, path string, line, budget int) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, &SyntaxError{File: name, Line: line, Reason: err.Error(), Err: err}
	}
	if !fi.Mode().IsRegular() {
		return nil, &SyntaxError{File: name, Line: line, Reason: fmt.Sprintf("%s: not a regular file (%s)", path, fileType(fi.Mode())), Err: fs.ErrInvalid}
	}
	if fi.Size() > int64(budget) {
		return nil, &LimitError{File: path, Limit: inputLimit}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, &SyntaxError{File: name, Line: line, Reason: err.Error(), Err: err}
	}
	defer f.Close()
	// The file may have been replaced since Stat: check again, and read
	// no more than the budget whatever it is.
	if fi2, err := f.Stat(); err != nil || !os.SameFile(fi, fi2) {
		return nil, &SyntaxError{File: name, Line: line, Reason: path + ": changed while being read", Err: fs.ErrInvalid}
	}
	b, err := io.ReadAll(io.LimitReader(f, int64(budget)+1))
	if err != nil {
		return nil, &SyntaxError{File: name, Line: line, Reason: "reading: " + err.Error(), Err: err}
	}
	if len(b) > budget {
		return nil, &LimitError{File: path, Limit: inputLimit}
	}
	return b, nil
}

func fileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeDir != 0:
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}
