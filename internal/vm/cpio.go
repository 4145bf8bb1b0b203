package vm

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Mode bits of the newc cpio format (they are the kernel's S_IF* values).
const (
	cpioDir  = 0o040000
	cpioReg  = 0o100000
	cpioLink = 0o120000
	cpioChr  = 0o020000
)

// archive collects an initramfs in memory-light form: file contents are read
// from their host paths only when the archive is written.
type archive struct {
	entries map[string]entry
}

type entry struct {
	mode         uint32
	hostPath     string // regular file: copy from here
	data         []byte // regular file: or these bytes
	linkTarget   string // symlink
	major, minor uint32 // device node
}

func newArchive() *archive { return &archive{entries: map[string]entry{}} }

// dir adds p and its parents as directories.
func (a *archive) dir(p string) {
	p = path.Clean("/" + p)
	for p != "/" {
		if _, ok := a.entries[p]; ok {
			return
		}
		a.entries[p] = entry{mode: cpioDir | 0o755}
		p = path.Dir(p)
	}
}

// file adds the host file src at guest path dst (following symlinks on the host).
func (a *archive) file(dst, src string, perm uint32) {
	dst = path.Clean("/" + dst)
	a.dir(path.Dir(dst))
	a.entries[dst] = entry{mode: cpioReg | perm, hostPath: src}
}

// tree adds the regular files (up to 1 MiB each) and directories under the
// host directory root, at the same paths.
func (a *archive) tree(root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			a.dir(p)
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			if info.Size() <= 1<<20 {
				a.file(p, p, uint32(info.Mode().Perm()))
			}
		}
		return nil
	})
}

// symlink adds a symbolic link at dst that points to target.
func (a *archive) symlink(dst, target string) {
	dst = path.Clean("/" + dst)
	a.dir(path.Dir(dst))
	a.entries[dst] = entry{mode: cpioLink | 0o777, linkTarget: target}
}

// bytes adds a regular file with the given content.
func (a *archive) bytes(dst string, data []byte, perm uint32) {
	dst = path.Clean("/" + dst)
	a.dir(path.Dir(dst))
	a.entries[dst] = entry{mode: cpioReg | perm, data: data}
}

// chardev adds a character device node.
func (a *archive) chardev(dst string, major, minor uint32) {
	dst = path.Clean("/" + dst)
	a.dir(path.Dir(dst))
	a.entries[dst] = entry{mode: cpioChr | 0o600, major: major, minor: minor}
}

// writeTo writes the archive as an uncompressed newc cpio stream, parents
// before children.
func (a *archive) writeTo(w io.Writer) error {
	names := make([]string, 0, len(a.entries))
	for n := range a.entries {
		names = append(names, n)
	}
	sort.Strings(names) // "/a" sorts before "/a/b"
	bw := bufio.NewWriterSize(w, 1<<20)
	ino := uint32(1)
	for _, n := range names {
		e := a.entries[n]
		var body []byte
		var src *os.File
		var size int64
		switch e.mode &^ 0o7777 {
		case cpioReg:
			if e.hostPath != "" {
				f, err := os.Open(e.hostPath)
				if err != nil {
					return fmt.Errorf("initramfs: %w", err)
				}
				st, err := f.Stat()
				if err != nil {
					f.Close()
					return fmt.Errorf("initramfs: %w", err)
				}
				src, size = f, st.Size()
			} else {
				body, size = e.data, int64(len(e.data))
			}
		case cpioLink:
			body, size = []byte(e.linkTarget), int64(len(e.linkTarget))
		}
		name := strings.TrimPrefix(n, "/")
		if err := writeHeader(bw, ino, e, size, name); err != nil {
			return err
		}
		ino++
		if src != nil {
			_, err := io.Copy(bw, src)
			src.Close()
			if err != nil {
				return fmt.Errorf("initramfs: %s: %w", e.hostPath, err)
			}
		} else if _, err := bw.Write(body); err != nil {
			return err
		}
		if err := pad(bw, size); err != nil {
			return err
		}
	}
	if err := writeHeader(bw, ino, entry{}, 0, "TRAILER!!!"); err != nil {
		return err
	}
	return bw.Flush()
}

func writeHeader(w *bufio.Writer, ino uint32, e entry, size int64, name string) error {
	nlink := uint32(1)
	if e.mode&^0o7777 == cpioDir {
		nlink = 2
	}
	_, err := fmt.Fprintf(w, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\x00",
		ino, e.mode, 0, 0, nlink, 0, uint32(size), 0, 0, e.major, e.minor, len(name)+1, 0, name)
	if err != nil {
		return err
	}
	return pad(w, int64(110+len(name)+1))
}

func pad(w *bufio.Writer, n int64) error {
	if r := n % 4; r != 0 {
		_, err := w.Write(make([]byte, 4-r))
		return err
	}
	return nil
}
