package vm

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// DefaultRoot is where scripts/install-deps.sh unpacks Debian's kernel package
// (its boot/ and lib/modules/ trees) when the host does not boot that kernel.
const DefaultRoot = "/var/cache/lvs/vmroot"

// RootEnv names the environment variable that overrides DefaultRoot.
const RootEnv = "LVS_VM_ROOT"

// Kernel is a bootable kernel image with its module tree.
type Kernel struct {
	Release string // e.g. "6.1.0-56-amd64"
	Image   string // path of vmlinuz
	Modules string // path of lib/modules/<Release>
}

// ErrNoKernel is returned by FindKernel when no kernel with IPVS modules is found.
var ErrNoKernel = errors.New("vm: no kernel with IPVS modules found (run scripts/install-deps.sh)")

// FindKernel looks for a kernel whose module tree has ip_vs.ko: under
// $LVS_VM_ROOT if set, else under DefaultRoot, then the host's own /boot and
// /lib/modules. The newest release wins.
func FindKernel() (*Kernel, error) {
	roots := []string{DefaultRoot, "/"}
	if r := os.Getenv(RootEnv); r != "" {
		roots = []string{r}
	}
	for _, root := range roots {
		images, _ := filepath.Glob(filepath.Join(root, "boot", "vmlinuz-*"))
		sort.Sort(sort.Reverse(sort.StringSlice(images)))
		for _, img := range images {
			rel := strings.TrimPrefix(filepath.Base(img), "vmlinuz-")
			mods := filepath.Join(root, "lib", "modules", rel)
			if _, err := os.Stat(filepath.Join(mods, "kernel", "net", "netfilter", "ipvs", "ip_vs.ko")); err == nil {
				return &Kernel{Release: rel, Image: img, Modules: mods}, nil
			}
		}
	}
	return nil, ErrNoKernel
}

// module is one loadable module file.
type module struct {
	name string // normalised: '-' becomes '_'
	path string // host path
	rel  string // path below the module tree
}

// moduleIndex maps module names to files in a module tree.
func (k *Kernel) moduleIndex() (map[string]module, error) {
	idx := map[string]module{}
	err := filepath.WalkDir(filepath.Join(k.Modules, "kernel"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".ko") {
			return err
		}
		name := normModule(strings.TrimSuffix(d.Name(), ".ko"))
		rel, _ := filepath.Rel(k.Modules, p)
		idx[name] = module{name: name, path: p, rel: rel}
		return nil
	})
	return idx, err
}

func normModule(s string) string { return strings.ReplaceAll(s, "-", "_") }

// moduleClosure returns the named modules and everything they depend on, in
// an order in which each module's dependencies come before it. Names built
// into the kernel (modules.builtin) are skipped.
func (k *Kernel) moduleClosure(names []string) ([]module, error) {
	idx, err := k.moduleIndex()
	if err != nil {
		return nil, fmt.Errorf("vm: reading modules: %w", err)
	}
	builtin := map[string]bool{}
	if b, err := os.ReadFile(filepath.Join(k.Modules, "modules.builtin")); err == nil {
		for _, l := range strings.Fields(string(b)) {
			builtin[normModule(strings.TrimSuffix(filepath.Base(l), ".ko"))] = true
		}
	}
	var order []module
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(string) error
	visit = func(n string) error {
		n = normModule(n)
		if state[n] == 2 || builtin[n] {
			return nil
		}
		if state[n] == 1 {
			return fmt.Errorf("vm: module dependency cycle at %s", n)
		}
		m, ok := idx[n]
		if !ok {
			return fmt.Errorf("vm: module %s: %w", n, fs.ErrNotExist)
		}
		state[n] = 1
		deps, err := moduleDepends(m.path)
		if err != nil {
			return err
		}
		deps = append(softdeps[n], deps...)
		for _, d := range deps {
			if err := visit(d); err != nil {
				return err
			}
		}
		state[n] = 2
		order = append(order, m)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// softdeps lists modules that must be loaded before another one although
// its "depends=" does not name them: the kernel would find them through
// modprobe, which the guest does not have.
var softdeps = map[string][]string{
	"libcrc32c": {"crc32c_generic"}, // crypto_alloc_shash("crc32c")
}

// moduleDepends reads the "depends=" entry of a module's .modinfo section.
func moduleDepends(path string) ([]string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vm: module %s: %w", path, err)
	}
	defer f.Close()
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, nil
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("vm: module %s: %w", path, err)
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte("depends=")); ok && len(v) > 0 {
			return strings.Split(string(v), ","), nil
		}
	}
	return nil, nil
}
