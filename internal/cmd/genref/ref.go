package main

import (
	"bytes"
	"encoding"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lvs-go/lvs/director"
	"github.com/lvs-go/lvs/director/check"
)

// module is the module whose types the reference follows; types of other
// modules (netip.Addr, time.Duration) are values, not sections.
const module = "github.com/lvs-go/lvs"

var (
	specType          = reflect.TypeFor[check.Spec]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// ref is the reference: a section per struct type reachable from
// director.Config, in the order a reader meets them.
type ref struct {
	root     string
	sections []*section
	byType   map[reflect.Type]*section
	docs     map[string]map[string]*typeDoc // package path, type name
	// primary is the path each struct type's section is written at: the
	// shallowest it is met at (a check is services[].check, not
	// services[].realServers[].checks[]); later are the deeper paths
	// met before it, added to its section once it has one.
	primary map[reflect.Type]string
	later   []typePath
}

// typePath is a struct type met at a path.
type typePath struct {
	t    reflect.Type
	path string
}

// section is one struct type: the paths it appears at, and its fields.
type section struct {
	title  string
	anchor string
	doc    string
	paths  []string
	rows   []row
}

// row is one field of a section.
type row struct {
	path       string // YAML key path from the root: services[].realServers[].weight
	typ        string // as files write it
	goName     string // Type.Field, for messages
	doc        string
	defaultVal string
	keepalived string
}

// field is a struct field as files see it: embedded structs without a key
// of their own are inlined.
type field struct {
	key   string
	name  string       // the Go name
	owner reflect.Type // the struct that declares it (for its doc)
	typ   reflect.Type
}

// build reads the doc comments of the module's packages under root and
// walks director.Config.
func build(root string) (*ref, error) {
	return buildFrom(root, reflect.TypeFor[director.Config]())
}

// buildFrom walks the struct t as the root of a file.
func buildFrom(root string, t reflect.Type) (*ref, error) {
	r := &ref{root: root, byType: map[reflect.Type]*section{}, docs: map[string]map[string]*typeDoc{}}
	r.primary = r.shallowest(t)
	if err := r.walk(t, "", t.Name()); err != nil {
		return nil, err
	}
	for _, tp := range r.later {
		if err := r.walk(tp.t, tp.path, tp.t.Name()); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// shallowest finds, breadth first from the root t, the shallowest path
// of each struct type reachable from it.
func (r *ref) shallowest(t reflect.Type) map[reflect.Type]string {
	out := map[reflect.Type]string{t: ""}
	queue := []typePath{{t, ""}}
	for len(queue) > 0 {
		tp := queue[0]
		queue = queue[1:]
		for _, f := range fields(tp.t) {
			st, sub := r.structOf(f.typ, join(tp.path, f.key))
			if _, seen := out[st]; st == nil || seen {
				continue
			}
			out[st] = sub
			queue = append(queue, typePath{st, sub})
		}
	}
	return out
}

// walk adds the section of the struct t, met at path, and those of the
// structs its fields hold.
func (r *ref) walk(t reflect.Type, path, title string) error {
	if s, ok := r.byType[t]; ok {
		s.paths = append(s.paths, display(path))
		return nil
	}
	td, err := r.typeDoc(t)
	if err != nil {
		return err
	}
	s := &section{title: title, anchor: anchor(title), doc: td.doc, paths: []string{display(path)}}
	r.byType[t] = s
	r.sections = append(r.sections, s)
	type child struct {
		t           reflect.Type
		path, title string
	}
	var children []child
	var kinds string // the path of a check's type, whose kinds get sections
	for _, f := range fields(t) {
		fd, err := r.typeDoc(f.owner)
		if err != nil {
			return err
		}
		p := join(path, f.key)
		rw := row{path: p, goName: f.owner.Name() + "." + f.name, doc: fd.fields[f.name], typ: r.fileType(f.typ)}
		rw.defaultVal = defaults[p]
		if rw.defaultVal == "" && f.typ.Kind() == reflect.Bool {
			rw.defaultVal = "false"
		}
		if kw, ok := kaKeywords[p]; ok {
			rw.keepalived = kw.String()
		}
		s.rows = append(s.rows, rw)
		if f.typ == specType {
			kinds = p
		}
		if st, sub := r.structOf(f.typ, p); st != nil {
			if prim, ok := r.primary[st]; ok && prim != sub && r.byType[st] == nil {
				r.later = append(r.later, typePath{st, sub}) // met deeper first
				continue
			}
			children = append(children, child{st, sub, st.Name()})
		}
	}
	for _, c := range children {
		if err := r.walk(c.t, c.path, c.title); err != nil {
			return err
		}
	}
	if kinds != "" {
		return r.kinds(strings.TrimSuffix(kinds, ".type"))
	}
	return nil
}

// kinds adds a section per built-in kind of check, its fields under path
// (the check block) next to the director's own.
func (r *ref) kinds(path string) error {
	for _, name := range check.Types() {
		k, ok := check.Lookup(name)
		if !ok {
			continue
		}
		t := reflect.TypeOf(k.New())
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if s, ok := r.byType[t]; ok {
			s.paths = append(s.paths, display(path)+" (type: "+name+")")
			continue
		}
		td, err := r.typeDoc(t)
		if err != nil {
			return err
		}
		title := "Check type " + name
		s := &section{title: title, anchor: anchor(title), doc: td.doc, paths: []string{display(path) + " (type: " + name + ")"}}
		r.byType[t] = s
		r.sections = append(r.sections, s)
		for _, f := range fields(t) {
			fd, err := r.typeDoc(f.owner)
			if err != nil {
				return err
			}
			p := join(path, f.key)
			rw := row{path: p, goName: "check." + f.owner.Name() + "." + f.name, doc: fd.fields[f.name], typ: r.fileType(f.typ)}
			rw.defaultVal = defaults[name+":"+p]
			if rw.defaultVal == "" && f.typ.Kind() == reflect.Bool {
				rw.defaultVal = "false"
			}
			if kw, ok := kaKeywords[name+":"+p]; ok {
				rw.keepalived = kw.String()
			}
			s.rows = append(s.rows, rw)
		}
	}
	return nil
}

// structOf is the struct of the module a field of type t holds (through
// pointers, lists and maps), with the path of its fields; nil if none.
func (r *ref) structOf(t reflect.Type, path string) (reflect.Type, string) {
	for {
		switch t.Kind() {
		case reflect.Pointer:
			t = t.Elem()
			continue
		case reflect.Slice, reflect.Array:
			t, path = t.Elem(), path+"[]"
			continue
		case reflect.Map:
			t, path = t.Elem(), path+".*"
			continue
		}
		break
	}
	if isSection(t) {
		return t, path
	}
	return nil, ""
}

// isSection says whether t is a struct of the module that files write as
// a mapping of its fields (not a value with a text form).
func isSection(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && strings.HasPrefix(t.PkgPath(), module) &&
		!t.Implements(textUnmarshalType) && !reflect.PointerTo(t).Implements(textUnmarshalType)
}

// fields are t's fields as files key them: the json tag's name, else
// the Go name in lower camel case (a check's own fields), "type" for a
// check's Spec; embedded structs without a key inlined.
func fields(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		key, _, _ := strings.Cut(tag, ",")
		if key == "-" {
			continue
		}
		if f.Anonymous && key == "" && f.Type.Kind() == reflect.Struct {
			out = append(out, fields(f.Type)...)
			continue
		}
		switch {
		case key != "":
		case f.Type == specType:
			key = "type"
		default:
			r, n := utf8.DecodeRuneInString(f.Name)
			key = string(unicode.ToLower(r)) + f.Name[n:]
		}
		out = append(out, field{key: key, name: f.Name, owner: t, typ: f.Type})
	}
	return out
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// display is how a section's path reads: "(the file's root)" for the
// root's.
func display(path string) string {
	if path == "" {
		return "(the file's root)"
	}
	return "`" + path + "`"
}

// anchor is GitHub's anchor for a heading.
func anchor(title string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(title) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

// fileType is how a configuration file writes a value of type t.
func (r *ref) fileType(t reflect.Type) string {
	if d, ok := valueTypes[t]; ok {
		return d()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return r.fileType(t.Elem())
	case reflect.Slice, reflect.Array:
		return "list of " + r.fileType(t.Elem())
	case reflect.Map:
		return "mapping of " + r.fileType(t.Key()) + " to " + r.fileType(t.Elem())
	case reflect.Struct:
		if isSection(t) {
			return fmt.Sprintf("mapping ([%s](#%s))", t.Name(), anchor(t.Name()))
		}
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Uint8:
		return "integer (0-255)"
	case reflect.Uint16:
		return "integer (0-65535)"
	case reflect.Uint, reflect.Uint32, reflect.Uint64:
		return "integer (0 or more)"
	case reflect.Float32, reflect.Float64:
		return "number"
	}
	return t.String()
}

// typeDoc is a struct type's doc comment and its fields'.
type typeDoc struct {
	doc    string
	fields map[string]string // by Go name
}

// typeDoc reads the doc comments of t's package, once.
func (r *ref) typeDoc(t reflect.Type) (*typeDoc, error) {
	pkg := t.PkgPath()
	if _, ok := r.docs[pkg]; !ok {
		dir := filepath.Join(r.root, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/")))
		m, err := parseDocs(dir)
		if err != nil {
			return nil, err
		}
		r.docs[pkg] = m
	}
	if td, ok := r.docs[pkg][t.Name()]; ok {
		return td, nil
	}
	return &typeDoc{fields: map[string]string{}}, nil
}

// parseDocs reads the doc comments of the struct types declared in the
// package in dir (its non-test files). A field's doc is its own comment,
// else its line comment, else the comment of the group of fields it is in
// (no blank line between them) when that comment names it: "Group and
// Port are ...".
func parseDocs(dir string) (map[string]*typeDoc, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	out := map[string]*typeDoc{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				td := &typeDoc{doc: text(doc), fields: map[string]string{}}
				group, groupEnd := "", 0
				for _, fl := range st.Fields.List {
					names := []string{}
					for _, n := range fl.Names {
						names = append(names, n.Name)
					}
					if len(names) == 0 {
						names = append(names, embeddedName(fl.Type))
					}
					own := text(fl.Doc)
					if own == "" {
						own = text(fl.Comment)
					}
					line := fset.Position(fl.Pos()).Line
					switch {
					case fl.Doc != nil:
						group = own
					case line != groupEnd+1:
						group = ""
					}
					groupEnd = fset.Position(fl.End()).Line
					for _, n := range names {
						d := own
						if d == "" && group != "" && regexp.MustCompile(`\b`+regexp.QuoteMeta(n)+`\b`).MatchString(group) {
							d = group
						}
						td.fields[n] = d
					}
				}
				out[ts.Name.Name] = td
			}
		}
	}
	return out, nil
}

func embeddedName(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return x.Sel.Name
	case *ast.StarExpr:
		return embeddedName(x.X)
	}
	return ""
}

// text is a comment as one paragraph of text; code blocks (indented
// lines) are kept on lines of their own.
func text(cg *ast.CommentGroup) string {
	return strings.TrimSpace(cg.Text())
}

// undocumented lists the fields without a doc comment, as Type.Field.
func (r *ref) undocumented() []string {
	var out []string
	for _, s := range r.sections {
		for _, rw := range s.rows {
			if rw.doc == "" {
				out = append(out, rw.goName)
			}
		}
	}
	return out
}

// paths lists every row's path (check kinds' as KIND:path).
func (r *ref) paths() map[string]bool {
	out := map[string]bool{}
	for _, s := range r.sections {
		prefix := ""
		if kind, ok := strings.CutPrefix(s.title, "Check type "); ok {
			prefix = kind + ":"
		}
		for _, rw := range s.rows {
			out[prefix+rw.path] = true
		}
	}
	return out
}

// markdown is the reference as docs/config.md.
func (r *ref) markdown() []byte {
	var b bytes.Buffer
	b.WriteString(header)
	b.WriteString("## Contents\n\n")
	for _, s := range r.sections {
		fmt.Fprintf(&b, "- [%s](#%s)\n", s.title, s.anchor)
	}
	for _, s := range r.sections {
		fmt.Fprintf(&b, "\n## %s\n\n", s.title)
		fmt.Fprintf(&b, "At %s.\n\n", strings.Join(s.paths, ", "))
		if s.doc != "" {
			b.WriteString(paragraphs(s.doc))
			b.WriteString("\n\n")
		}
		if len(s.rows) == 0 {
			b.WriteString("No fields of its own.\n")
			continue
		}
		b.WriteString("| Key | Type | Default | keepalived | Description |\n| --- | --- | --- | --- | --- |\n")
		for _, rw := range s.rows {
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", rw.path, cell(rw.typ), cell(rw.defaultVal), cell(rw.keepalived), cell(oneLine(rw.doc)))
		}
	}
	return b.Bytes()
}

// paragraphs keeps a doc comment's paragraphs, and its indented lines as
// a code block.
func paragraphs(doc string) string {
	var out []string
	var para, code []string
	flush := func() {
		if len(para) > 0 {
			out = append(out, strings.Join(para, " "))
			para = nil
		}
		if len(code) > 0 {
			out = append(out, "```\n"+strings.Join(code, "\n")+"\n```")
			code = nil
		}
	}
	for _, l := range strings.Split(doc, "\n") {
		switch {
		case strings.HasPrefix(l, "\t") || strings.HasPrefix(l, "    "):
			if len(para) > 0 {
				out = append(out, strings.Join(para, " "))
				para = nil
			}
			code = append(code, strings.TrimPrefix(l, "\t"))
		case strings.TrimSpace(l) == "":
			flush()
		default:
			if len(code) > 0 {
				flush()
			}
			para = append(para, strings.TrimSpace(l))
		}
	}
	flush()
	return strings.Join(out, "\n\n")
}

// oneLine joins a doc comment's lines.
func oneLine(doc string) string {
	return strings.Join(strings.Fields(doc), " ")
}

// cell escapes what would end a table cell.
func cell(s string) string {
	return strings.ReplaceAll(s, "|", `\|`)
}

const header = `# Configuration reference

<!-- Generated by ` + "`go run ./internal/cmd/genref`" + ` from the director package's types and doc comments; do not edit. -->

This is every field of ` + "`lvs-director`" + `'s configuration file (` + "`director.Config`" + ` in Go), section by section
from the file's root. A file is YAML or JSON (JSON is YAML); keys are spelled exactly as below (a key the
director does not know is an error, with its line), and ` + "`[]`" + ` in a key path is an item of a list.

- **Type** is how the file writes the value. A duration is ` + "`\"10s\"`" + `, ` + "`\"1m30s\"`" + ` or a number of seconds.
- **Default** is what an absent (or zero) value means, where it means more than "none".
- **keepalived** is the keepalived.conf keyword the field corresponds to. ` + "`lvs-director -import`" + ` carries
  those not marked "(not imported)" over from a keepalived.conf (checked by a test against the importer);
  for what it does not carry, it lists the options as comments.

` + "`lvs-director -check FILE`" + ` checks a file offline, without root.

`
