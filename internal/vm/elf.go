package vm

import (
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

var libDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib64", "/usr/lib64", "/lib", "/usr/lib",
}

// addHostFile adds the host executable or shared object at p at the same
// guest path, as addProgram does, except that a symbolic link stays one: p
// becomes a link to the file it resolves to, which is added (once, with its
// libraries) at its own path. So one binary known by many names (Debian's
// xtables-nft-multi is iptables-nft-restore, iptables-nft-save, ...) is
// carried once, and a dlopen'ed plugin known by an alias (libxt_SNAT.so ->
// libxt_NAT.so) is found under the name its loader asks for.
func (a *archive) addHostFile(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	if fi.Mode()&fs.ModeSymlink == 0 {
		return a.addProgram(p, p)
	}
	target, err := filepath.EvalSymlinks(p)
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	a.symlink(p, target)
	if _, ok := a.entries[filepath.Clean(target)]; ok {
		return nil
	}
	return a.addProgram(target, target)
}

// addProgram adds the host executable (or shared object) src at guest path
// dst together with its ELF interpreter and the shared libraries it needs,
// recursively.
func (a *archive) addProgram(dst, src string) error {
	a.file(dst, src, 0o755)
	seen := map[string]bool{}
	var add func(string) error
	add = func(p string) error {
		f, err := elf.Open(p)
		if err != nil {
			return fmt.Errorf("vm: %w", err)
		}
		defer f.Close()
		for _, prog := range f.Progs {
			if prog.Type != elf.PT_INTERP {
				continue
			}
			b := make([]byte, prog.Filesz)
			if _, err := prog.ReadAt(b, 0); err != nil {
				return fmt.Errorf("vm: %s: interpreter: %w", p, err)
			}
			interp := string(b[:len(b)-1]) // NUL-terminated
			if !seen[interp] {
				seen[interp] = true
				a.file(interp, interp, 0o755)
			}
		}
		libs, err := f.ImportedLibraries()
		if err != nil {
			return fmt.Errorf("vm: %s: %w", p, err)
		}
		for _, lib := range libs {
			found := ""
			for _, d := range libDirs {
				if _, err := os.Stat(filepath.Join(d, lib)); err == nil {
					found = filepath.Join(d, lib)
					break
				}
			}
			if found == "" {
				return fmt.Errorf("vm: %s needs %s: not found in %v", p, lib, libDirs)
			}
			if seen[found] {
				continue
			}
			seen[found] = true
			a.file(found, found, 0o755)
			if err := add(found); err != nil {
				return err
			}
		}
		return nil
	}
	return add(src)
}
