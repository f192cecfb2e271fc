// The tuning loop: estimators of m, o and R, and the controllers that size
// batches from them. Pure code, no I/O: every time is passed in, in seconds.
export { ArrivalRateEstimator, type ArrivalRateEstimatorOptions } from './arrival-rate.js';
export {
  BatchSizeController,
  type BatchSizeControllerOptions,
  type TuningSnapshot,
} from './batch-controller.js';
export { CopyBatchSizer, type CopyBatchSizerOptions } from './copy-batch-sizer.js';
export {
  CostEstimator,
  MINIMUM_COST_SAMPLES,
  type CostEstimate,
  type CostEstimatorOptions,
} from './cost-estimator.js';
export { ProbeCycle } from './probe-cycle.js';
export { optimalBatchSize, predictedLagSeconds, utilisation } from './queueing-model.js';
export { fitLineRobustly, type FitPoint, type RobustLineFit, type RobustLineFitOptions } from './robust-line-fit.js';
export { SaturationDetector, type SaturationDetectorOptions } from './saturation-detector.js';
export { SourceRate, type SourceRateOptions } from './source-rate.js';
