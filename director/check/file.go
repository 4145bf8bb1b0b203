package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"syscall"
)

// File is the "file" check, keepalived's FILE_CHECK with its track_file:
// a file on the director holding a number, which an operator (or a
// program) writes to take a real server out of service or put it back.
// The target and the Env mean nothing to it: it reads the file in the
// director's own file system.
//
// It reads the first 127 bytes of the file (FileReadLimit) and the number
// at their start as keepalived does (C's strtol with base 0: blanks, a sign,
// then decimal, 0x hexadecimal or 0 octal digits; what follows the
// number is ignored, and no number reads as 0). A file that is missing or
// cannot be read reads as 0, as keepalived's; a number outside
// keepalived's range (-2147483648 to 2147483648), which keepalived ignores
// (keeping the state it had), fails the check with its error. The file is
// opened non-blocking, so that a FIFO with no writer does not hang the
// check. The check never writes the file (keepalived's init_file is not
// done).
//
// Healthy says which numbers are healthy: "nonzero" (the default; an
// empty or missing file then fails the real server) or "zero"
// (keepalived's FILE_CHECK with weight 0: any other number fails it, and
// a missing file reads as 0, healthy). A non-zero Weight is keepalived's
// weighted track_file instead: the number times Weight is the change of
// the real server's weight, and only a product of -2147483648 or less
// fails it; the director applies no weight change, so such a check fails
// only there.
type File struct {
	// Path is the file, an absolute path; files write it as file, as
	// keepalived's track_file block does.
	Path string `json:"file,omitempty"`
	// Healthy is "nonzero" (the default) or "zero": which numbers in the
	// file are healthy.
	Healthy string `json:"healthy,omitempty"`
	// Weight, if not 0, is keepalived's track_file or FILE_CHECK weight
	// (from -2147483647 to 2147483647, negative for its "reverse"): the
	// check fails only when the number times Weight is -2147483648 or
	// less. Not with Healthy.
	Weight int `json:"weight,omitempty"`
}

// FileReadLimit is how much of its file a file check reads, as
// keepalived does (its buffer of 128 bytes, less the terminating NUL).
const FileReadLimit = 127

// Type is "file".
func (File) Type() string { return "file" }

// Compile checks the path and the mode; the file itself need not exist
// (its absence is a state of the real server, not a configuration
// error).
func (f File) Compile() (Checker, error) {
	switch {
	case f.Path == "":
		return nil, &FieldError{Type: "file", Field: "file", Err: errors.New("needs a file")}
	case !filepath.IsAbs(f.Path):
		return nil, &FieldError{Type: "file", Field: "file", Err: fmt.Errorf("%q is not an absolute path", f.Path)}
	case f.Weight < -math.MaxInt32 || f.Weight > math.MaxInt32:
		return nil, &FieldError{Type: "file", Field: "weight", Err: fmt.Errorf("%d is not from %d to %d", f.Weight, -math.MaxInt32, math.MaxInt32)}
	case f.Weight != 0 && f.Healthy != "":
		return nil, &FieldError{Type: "file", Field: "healthy", Err: errors.New("not with a weight (a weighted file check fails only at its floor)")}
	}
	c := fileChecker{path: f.Path, weight: f.Weight}
	switch f.Healthy {
	case "", "nonzero":
	case "zero":
		c.zero = true
	default:
		return nil, &FieldError{Type: "file", Field: "healthy", Err: fmt.Errorf("%q is not nonzero or zero", f.Healthy)}
	}
	return c, nil
}

type fileChecker struct {
	path   string
	zero   bool
	weight int
}

// ErrFileState is matched (errors.Is) by the error of a file check that
// failed because of the number its file holds.
var ErrFileState = errors.New("check: the file's number fails the real server")

func (c fileChecker) Check(ctx context.Context, _ Env, _ netip.AddrPort) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n, err := readFileNumber(c.path)
	if err != nil {
		return err
	}
	switch {
	case c.weight != 0:
		if n*int64(c.weight) <= math.MinInt32 {
			return fmt.Errorf("%s holds %d, times weight %d: %w", c.path, n, c.weight, ErrFileState)
		}
	case c.zero && n != 0:
		return fmt.Errorf("%s holds %d, not 0: %w", c.path, n, ErrFileState)
	case !c.zero && n == 0:
		return fmt.Errorf("%s holds 0 (or is missing, empty or no number): %w", c.path, ErrFileState)
	}
	return nil
}

// readFileNumber reads the number at the start of the file at path as
// keepalived's process_track_file does: 0 for a file it cannot open or
// read, an error for a number out of its range.
func readFileNumber(path string) (int64, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, nil
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		return 0, nil // read(2) fails on a directory
	}
	buf := make([]byte, FileReadLimit)
	n, err := io.ReadFull(f, buf)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return 0, nil
	}
	v, ok := strtol(buf[:n])
	if !ok || v < math.MinInt32 || v > math.MaxInt32+1 {
		return 0, fmt.Errorf("%s: the number is out of range (from %d to %d)", path, math.MinInt32, int64(math.MaxInt32)+1)
	}
	return v, nil
}

// strtol reads the number at the start of b as C's strtol(b, NULL, 0):
// leading white space, a sign, then 0x or 0X and hexadecimal digits, 0
// and octal digits, or decimal digits, up to the first byte that is not a
// digit of the base; no digits is 0. ok is false on overflow of int64
// (strtol's ERANGE).
func strtol(b []byte) (v int64, ok bool) {
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] >= '\t' && b[i] <= '\r') {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	base := uint64(10)
	switch {
	case i+2 < len(b) && b[i] == '0' && (b[i+1] == 'x' || b[i+1] == 'X') && digit(b[i+2], 16) >= 0:
		base, i = 16, i+2
	case i < len(b) && b[i] == '0':
		base = 8
	}
	var u uint64
	for ; i < len(b); i++ {
		d := digit(b[i], base)
		if d < 0 {
			break
		}
		if u > (math.MaxUint64-uint64(d))/base {
			return 0, false
		}
		u = u*base + uint64(d)
	}
	switch {
	case !neg && u > math.MaxInt64, neg && u > 1<<63:
		return 0, false
	case neg:
		return -int64(u), true
	}
	return int64(u), true
}

// digit is c's value as a digit of base, or -1.
func digit(c byte, base uint64) int {
	var d int
	switch {
	case c >= '0' && c <= '9':
		d = int(c - '0')
	case c >= 'a' && c <= 'f':
		d = int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = int(c-'A') + 10
	default:
		return -1
	}
	if uint64(d) >= base {
		return -1
	}
	return d
}
