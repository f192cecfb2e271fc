// The run's spans, through @opentelemetry/api only: with no SDK registered (the CLI registers
// one when an OTLP endpoint is set: telemetry/sdk.ts) the api's tracer is a no-op. Spans are
// parented explicitly (no context manager needed): run → phase → batch. Batch spans are
// recorded when the batch reports, from its measured duration: one span per batch, no per-event
// work. Attributes are bounded and carry no key, value, address or credential.
import { SpanStatusCode, context, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { AppliedBatch } from '../binlog/apply/applier.js';
import type { CopyBatchReport } from '../copy/copier.js';
import type { CutoverOutcome } from '../cutover/cutover.js';

export const TRACER_NAME = 'tideferry';

/** Span names, one place. */
export const SPANS = {
  run: 'tideferry.run',
  phase: (phase: string) => `tideferry.${phase}`,
  copyBatch: 'tideferry.copy.batch',
  applyBatch: 'tideferry.apply.batch',
  drain: 'tideferry.cutover.drain',
  verify: 'tideferry.cutover.verify',
  verifyRows: 'tideferry.verify.rows',
} as const;

export class RunTrace {
  private readonly tracer: Tracer;
  private run: Span | undefined;
  private runContext: Context = context.active();
  private phase: Span | undefined;
  private phaseContext: Context = context.active();
  private phaseName: string | undefined;
  private verifyStartedAt: number | undefined;

  constructor(tracer: Tracer = trace.getTracer(TRACER_NAME)) {
    this.tracer = tracer;
  }

  started(attributes: Attributes): void {
    this.run = this.tracer.startSpan(SPANS.run, { attributes });
    this.runContext = trace.setSpan(context.active(), this.run);
    this.phaseContext = this.runContext;
  }

  /**
   * Ends the current phase's span and starts the next one's. Cutover's own 'verify' phase stays
   * inside the cutover span (its verify part is a child span: cutoverDone); done/failed get none.
   */
  enterPhase(phase: string): void {
    this.phaseName = phase;
    if (phase === 'verify') {
      this.verifyStartedAt = Date.now();
      return;
    }
    this.phase?.end();
    this.phase = undefined;
    this.phaseContext = this.runContext;
    if (phase === 'done' || phase === 'failed') return;
    this.phase = this.tracer.startSpan(SPANS.phase(phase), { attributes: { 'tideferry.phase': phase } }, this.runContext);
    this.phaseContext = trace.setSpan(this.runContext, this.phase);
  }

  copyBatch(batch: CopyBatchReport): void {
    this.past(SPANS.copyBatch, batch.readSeconds + batch.writeSeconds, {
      'tideferry.table': batch.table,
      'tideferry.rows': batch.rowsRead,
      'tideferry.rows_written': batch.rowsWritten,
      'tideferry.bytes': batch.bytesRead,
    });
  }

  applyBatch(batch: AppliedBatch): void {
    this.past(SPANS.applyBatch, batch.seconds, { 'tideferry.events': batch.size, 'tideferry.statements': batch.statements });
  }

  /** Rows compared by the verifier (a chunk, or rows changed since verified). */
  verifiedRows(table: string, rows: number): void {
    this.past(SPANS.verifyRows, 0, { 'tideferry.table': table, 'tideferry.rows': rows });
  }

  /** The cutover's parts, from its outcome: drain (writers stopped → drained), verify. Ends the cutover span. */
  cutoverDone(outcome: CutoverOutcome): void {
    const parent = this.phaseContext;
    const drainEnd = this.verifyStartedAt ?? Date.now();
    this.tracer.startSpan(SPANS.drain, { startTime: drainEnd - outcome.drainSeconds * 1000 }, parent).end(drainEnd);
    if (outcome.verify) {
      this.tracer
        .startSpan(SPANS.verify, { startTime: drainEnd, attributes: { 'tideferry.rows': outcome.verify.rowsChecked } }, parent)
        .end(drainEnd + outcome.verifySeconds * 1000);
    }
    this.phase?.setAttribute('tideferry.downtime_seconds', outcome.downtimeSeconds);
  }

  finished(error?: unknown): void {
    this.phase?.end();
    this.phase = undefined;
    if (this.run && error !== undefined) {
      this.run.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' });
      this.run.setAttribute('tideferry.failed_phase', this.phaseName ?? 'unknown');
    }
    this.run?.end();
    this.run = undefined;
  }

  /** A span that ended now and lasted `seconds`, under the current phase. */
  private past(name: string, seconds: number, attributes: Attributes): void {
    const end = Date.now();
    this.tracer.startSpan(name, { startTime: end - seconds * 1000, attributes }, this.phaseContext).end(end);
  }
}
