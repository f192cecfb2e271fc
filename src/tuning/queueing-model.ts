// The applier's queueing model, as plain formulas so that the controller, the
// status page and the benchmarks all compute the same numbers.
//
// A batch of b events takes T = m·b + o on the target (m: marginal cost of one
// event, o: fixed cost of one write — round trip and commit). Events arrive at
// R per second. A batch keeps up when it holds what arrives while the previous
// one is written, b = R·T; solving for b gives B* = o·R / (1 − m·R).
//
// The applier also leaves at least a minimum interval between the starts of two
// writes (binlog.minBatchIntervalMs): each write costs the engine and the target
// a fixed amount of CPU besides its time, and at low rates writing every few
// events spends more on that than on the events. The cycle is then the longer
// of the two, C = max(o / (1 − m·R), interval), and a batch holds R·C events.

/**
 * m·R: the fraction of the target's time that applying the arriving events
 * costs before any per-write overhead. At 1 or more no batch size keeps up,
 * because even an infinitely large batch spends m seconds per event.
 */
export function utilisation(perEventSeconds: number, arrivalRate: number): number {
  return perEventSeconds * arrivalRate;
}

/**
 * The applier's cycle in steady state: the time from one write's start to the
 * next one's, max(o / (1 − m·R), interval). Infinity when m·R ≥ 1.
 */
export function cycleSeconds(perEventSeconds: number, perBatchSeconds: number, arrivalRate: number, minIntervalSeconds = 0): number {
  const load = utilisation(perEventSeconds, arrivalRate);
  if (load >= 1) return Infinity;
  return Math.max(perBatchSeconds / (1 - load), minIntervalSeconds);
}

/**
 * B* = R·C: what arrives during one cycle, o·R / (1 − m·R) without a minimum
 * interval. Unclamped; Infinity when m·R ≥ 1, zero when nothing arrives.
 */
export function optimalBatchSize(perEventSeconds: number, perBatchSeconds: number, arrivalRate: number, minIntervalSeconds = 0): number {
  if (arrivalRate === 0) return 0;
  return arrivalRate * cycleSeconds(perEventSeconds, perBatchSeconds, arrivalRate, minIntervalSeconds);
}

/**
 * The mean lag the model predicts, C/2 + T: an event waits on average half a
 * cycle for its batch to start, then the batch's write, T = m·R·C + o. Without a
 * minimum interval T = C, and the lag is 1.5 · o / (1 − m·R). Measured lags
 * include what the model leaves out (the stream's own delay, the engine waiting
 * for a CPU), which the status page reports beside it. Infinity when m·R ≥ 1.
 */
export function predictedLagSeconds(perEventSeconds: number, perBatchSeconds: number, arrivalRate: number, minIntervalSeconds = 0): number {
  const cycle = cycleSeconds(perEventSeconds, perBatchSeconds, arrivalRate, minIntervalSeconds);
  if (!Number.isFinite(cycle)) return Infinity;
  return cycle / 2 + utilisation(perEventSeconds, arrivalRate) * cycle + perBatchSeconds;
}
