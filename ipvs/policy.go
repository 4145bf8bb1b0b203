package ipvs

import (
	"fmt"

	"github.com/lvs-go/lvs/internal/kernel"
)

// The generic-netlink controller's policy dump (linux/genetlink.h,
// linux/netlink.h; CTRL_CMD_GETPOLICY is Linux 5.7, CTRL_ATTR_OP_POLICY
// 5.10).
const (
	genlIDCtrl           = 0x10 // GENL_ID_CTRL
	ctrlCmdGetPolicy     = 10   // CTRL_CMD_GETPOLICY
	ctrlAttrFamilyID     = 1    // CTRL_ATTR_FAMILY_ID
	ctrlAttrPolicy       = 8    // CTRL_ATTR_POLICY: policy index -> attribute -> NL_POLICY_TYPE_ATTR_*
	ctrlAttrOpPolicy     = 9    // CTRL_ATTR_OP_POLICY: command -> CTRL_ATTR_POLICY_DO/_DUMP
	ctrlAttrPolicyDo     = 1    // CTRL_ATTR_POLICY_DO
	nlPolicyTypeAttrType = 1    // NL_POLICY_TYPE_ATTR_TYPE
	nlPolicyTypeAttrIdx  = 8    // NL_POLICY_TYPE_ATTR_POLICY_IDX
)

// policyDump collects the replies to a CTRL_CMD_GETPOLICY dump of the IPVS
// family. The kernel numbers the policies it reaches from the family's
// commands, the first 0, and describes each attribute of each (those of
// type NLA_UNSPEC aside); a nested attribute whose policy the kernel knows
// names that policy's index.
type policyDump struct {
	// doPolicy maps a command to the index of its policy (kernels before
	// 5.10 send no CTRL_ATTR_OP_POLICY: one family policy, index 0).
	doPolicy map[uint32]uint32
	policies map[uint32]map[uint16]policyAttr
}

type policyAttr struct {
	nested    uint32 // the nested policy's index, if hasNested
	hasNested bool
}

// add reads one reply's attributes (after the generic-netlink header).
func (p *policyDump) add(b []byte) error {
	if p.policies == nil {
		p.doPolicy, p.policies = map[uint32]uint32{}, map[uint32]map[uint16]policyAttr{}
	}
	ad := newAttrReader(b)
	for ad.Next() {
		switch ad.Type() {
		case ctrlAttrOpPolicy:
			ad.Nested(func(ops *attrReader) {
				for ops.Next() {
					cmd := uint32(ops.Type())
					ops.Nested(func(op *attrReader) {
						for op.Next() {
							if op.Type() == ctrlAttrPolicyDo {
								p.doPolicy[cmd] = op.Uint32()
							}
						}
					})
				}
			})
		case ctrlAttrPolicy:
			ad.Nested(func(pols *attrReader) {
				for pols.Next() {
					idx := uint32(pols.Type())
					pol := p.policies[idx]
					if pol == nil {
						pol = map[uint16]policyAttr{}
						p.policies[idx] = pol
					}
					pols.Nested(func(attrs *attrReader) {
						for attrs.Next() {
							typ := attrs.Type()
							var pa policyAttr
							attrs.Nested(func(desc *attrReader) {
								for desc.Next() {
									if desc.Type() == nlPolicyTypeAttrIdx {
										pa.nested, pa.hasNested = desc.Uint32(), true
									}
								}
							})
							pol[typ] = pa
						}
					})
				}
			})
		}
	}
	if err := ad.Err(); err != nil {
		return fmt.Errorf("policy dump: %w", err)
	}
	return nil
}

// facts is what the dump tells of the nests the feature table uses: for
// each nest whose policy the kernel describes, the attributes it has.
// Nests it does not describe are left to the release rule.
func (p *policyDump) facts(release kernel.Version) *kernelFacts {
	k := &kernelFacts{release: release, nests: map[uint16]map[uint16]bool{}}
	for _, f := range features {
		for _, a := range f.attrs {
			if _, done := k.nests[a.nest]; done {
				continue
			}
			root, ok := p.doPolicy[uint32(a.cmd)]
			if !ok && len(p.doPolicy) > 0 {
				continue // the command has no policy
			}
			// Without CTRL_ATTR_OP_POLICY (before 5.10), root is 0: the
			// family's one policy.
			nest, ok := p.policies[root][a.nest]
			if !ok || !nest.hasNested {
				continue // the kernel parses the nest with a policy it does not describe
			}
			attrs := map[uint16]bool{}
			for typ := range p.policies[nest.nested] {
				attrs[typ] = true
			}
			k.nests[a.nest] = attrs
		}
	}
	return k
}
