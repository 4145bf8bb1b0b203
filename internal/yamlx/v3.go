package yamlx

import (
	"fmt"

	yaml "go.yaml.in/yaml/v3"
)

// ExpandError is a document whose aliases expand to more nodes than
// Parse allows (a "billion laughs").
type ExpandError struct{ Limit int }

func (e *ExpandError) Error() string {
	return fmt.Sprintf("yaml: the document's aliases expand to more than %d nodes", e.Limit)
}

// parseV3 reads b with yaml/v3 and converts its nodes.
func parseV3(b []byte) (*Doc, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, err
	}
	d := &Doc{}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return d, nil
	}
	// A document has at most about a node per byte ("{a,b}" has a null
	// for each key); aliases may add a million more.
	c := converter{doc: d, limit: len(b) + 1<<20}
	if _, err := c.node(root.Content[0]); err != nil {
		return nil, err
	}
	return d, nil
}

type converter struct {
	doc   *Doc
	limit int
}

func (c *converter) node(n *yaml.Node) (int32, error) {
	for n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if int(c.doc.n) >= c.limit {
		return 0, &ExpandError{Limit: c.limit}
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return c.doc.add(Node{Kind: Scalar, Tag: v3Tag(n), Value: n.Value, Line: int32(n.Line), First: None, Next: None}), nil
	case yaml.SequenceNode:
		i := c.doc.add(Node{Kind: Sequence, Line: int32(n.Line), First: None, Next: None})
		last := int32(None)
		for _, e := range n.Content {
			e, err := c.node(e)
			if err != nil {
				return 0, err
			}
			last = c.doc.link(i, last, e)
		}
		return i, nil
	case yaml.MappingNode:
		i := c.doc.add(Node{Kind: Mapping, Line: int32(n.Line), First: None, Next: None})
		last := int32(None)
		pairs, err := mergedPairs(n)
		if err != nil {
			return 0, err
		}
		for _, kv := range pairs {
			k, err := c.node(kv[0])
			if err != nil {
				return 0, err
			}
			if c.doc.Node(k).Kind != Scalar {
				return 0, fmt.Errorf("yaml: line %d: a mapping key is not a scalar", kv[0].Line)
			}
			v, err := c.node(kv[1])
			if err != nil {
				return 0, err
			}
			last = c.doc.link(i, last, k)
			last = c.doc.link(i, last, v)
		}
		return i, nil
	}
	return 0, fmt.Errorf("yaml: line %d: unexpected node", n.Line)
}

// mergedPairs are the key-value pairs of the mapping n with its merge
// keys ("<<: *base") resolved: its own keys first, then the merged
// mappings' keys it has not, the earlier mapping first.
func mergedPairs(n *yaml.Node) ([][2]*yaml.Node, error) {
	var own, merged [][2]*yaml.Node
	var from []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.ShortTag() == "!!merge" {
			for v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			switch v.Kind {
			case yaml.MappingNode:
				from = append(from, v)
			case yaml.SequenceNode:
				for _, e := range v.Content {
					for e.Kind == yaml.AliasNode {
						e = e.Alias
					}
					if e.Kind != yaml.MappingNode {
						return nil, fmt.Errorf("yaml: line %d: map merge requires map or sequence of maps as the value", k.Line)
					}
					from = append(from, e)
				}
			default:
				return nil, fmt.Errorf("yaml: line %d: map merge requires map or sequence of maps as the value", k.Line)
			}
			continue
		}
		own = append(own, [2]*yaml.Node{k, v})
	}
	if len(from) == 0 {
		return own, nil
	}
	seen := map[string]bool{}
	for _, kv := range own {
		seen[kv[0].Value] = true
	}
	for _, m := range from {
		pairs, err := mergedPairs(m)
		if err != nil {
			return nil, err
		}
		for _, kv := range pairs {
			if !seen[kv[0].Value] {
				seen[kv[0].Value] = true
				merged = append(merged, kv)
			}
		}
	}
	return append(own, merged...), nil
}

func v3Tag(n *yaml.Node) Tag {
	switch n.ShortTag() {
	case "!!null":
		return Null
	case "!!bool":
		return Bool
	case "!!int":
		return Int
	case "!!float":
		return Float
	}
	return Str
}
