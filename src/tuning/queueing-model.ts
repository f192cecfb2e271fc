// The applier's queueing model, as plain formulas so that the controller, the
// status page and the benchmarks all compute the same numbers.
//
// A batch of b events takes T = m·b + o on the target (m: marginal cost of one
// event, o: fixed cost of one write — round trip and commit). Events arrive at
// R per second. A batch keeps up when it holds what arrives while the previous
// one is written, b = R·T; solving for b gives B* = o·R / (1 − m·R).

/**
 * m·R: the fraction of the target's time that applying the arriving events
 * costs before any per-write overhead. At 1 or more no batch size keeps up,
 * because even an infinitely large batch spends m seconds per event.
 */
export function utilisation(perEventSeconds: number, arrivalRate: number): number {
  return perEventSeconds * arrivalRate;
}

/**
 * B* = o·R / (1 − m·R), unclamped. Infinity when m·R ≥ 1: no finite batch
 * keeps up. Zero when nothing arrives (R = 0).
 */
export function optimalBatchSize(perEventSeconds: number, perBatchSeconds: number, arrivalRate: number): number {
  const load = utilisation(perEventSeconds, arrivalRate);
  if (load >= 1) return Infinity;
  return (perBatchSeconds * arrivalRate) / (1 - load);
}

/**
 * o / (1 − m·R): the time one batch of size B* takes to write, B* ÷ R, which is
 * the cycle time of the applier in steady state. An event waits on average
 * half a cycle for its batch to start and a whole cycle for it to commit, so a
 * measured mean lag of about 1.5× this figure is the model agreeing with itself.
 * Infinity when m·R ≥ 1.
 */
export function predictedLagSeconds(perEventSeconds: number, perBatchSeconds: number, arrivalRate: number): number {
  const load = utilisation(perEventSeconds, arrivalRate);
  if (load >= 1) return Infinity;
  return perBatchSeconds / (1 - load);
}
