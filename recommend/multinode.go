package recommend

// DefaultCommonShare is the share of a pool's interruptions that take
// every instance of the pool at once (the common shock of SurvivalN),
// estimated from the skypilot 4-node and 16-node AWS p3.2xlarge traces
// (TestCommonShareFromTraces): 0.18-0.49 in the three 4-node preemption
// traces, 0.68-0.87 in the three 16-node availability traces; the median
// of the six is 0.59. Nodes of one zone tend to go together.
const DefaultCommonShare = 0.6

// CommonShockFactor is how many times the per-instance interruption rate
// a job of n instances in one pool is interrupted at, when a share s of
// the pool's interruptions is a common shock that takes all instances and
// the rest hit instances independently (Marshall and Olkin 1967, "A
// multivariate exponential distribution", JASA 62(317)): s + n(1 - s).
// s = 0 gives n (independent), s = 1 gives 1 (they always go together).
func CommonShockFactor(n int, s float64) float64 {
	n = max(n, 1)
	return s + float64(n)*(1-s)
}
