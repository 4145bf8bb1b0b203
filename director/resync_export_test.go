package director

import "context"

// ResyncPlan plans c as Run's periodic resync does (a read of the whole
// IPVS table compared with what the Director knows), with no health
// verdicts (for the external tests and benchmarks).
func ResyncPlan(ctx context.Context, d *Director, c *Compiled) (*Plan, error) {
	return d.planModel(ctx, c.m, verdicts{}, readTable)
}
