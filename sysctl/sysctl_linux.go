package sysctl

import (
	"io"
	"os"

	"github.com/lvs-go/lvs/internal/netnsx"
	"golang.org/x/sys/unix"
)

func dupNS(fd int) (int, error) { return netnsx.Dup(fd) }

func closeNS(fd int) error {
	if fd == 0 {
		return nil
	}
	return unix.Close(fd)
}

// open opens path from a thread inside the namespace; the file stays bound
// to that namespace and is then used from any thread.
func (s *Sysctl) open(path string, flag int) (*os.File, error) {
	var f *os.File
	err := netnsx.Do(s.netns, func() error {
		var err error
		f, err = os.OpenFile(path, flag, 0)
		return err
	})
	return f, err
}

func (s *Sysctl) read(path string) (string, error) {
	f, err := s.open(path, os.O_RDONLY)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

func (s *Sysctl) write(path, value string) error {
	f, err := s.open(path, os.O_WRONLY)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
