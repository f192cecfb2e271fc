// The engine's CPU split by stage, from a V8 CPU profile of the measured window (inspector
// Profiler, taken in this process). Samples land only while the thread runs, so their shares
// are shares of its CPU. A sample belongs to the innermost stage its stack shows:
//   read + decode: the binlog stream (src/binlog/stream, src/binlog/decode) and what it calls;
//   plan + build:  the applier's planning and statement building (src/binlog/apply/plan,
//                  statements, row-filter) and the tuning loop (src/tuning, the sizer);
//   write:         everything of mysql2 not under the stream (sending the batch, reading its
//                  results) and the applier's own write loop;
//   gc, other:     garbage collection, and the rest (timers, the benchmark's own sampling).
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export type Stage = 'read + decode' | 'plan + build' | 'tuning' | 'write' | 'gc' | 'other';
export const STAGES: readonly Stage[] = ['read + decode', 'plan + build', 'tuning', 'write', 'gc', 'other'];

function stageOfFrame(url: string): Stage | undefined {
  if (url.includes('/src/binlog/stream/') || url.includes('/src/binlog/decode/') || url.includes('@vlasky/zongji')) return 'read + decode';
  if (url.includes('/src/binlog/apply/plan') || url.includes('/src/binlog/apply/statements') || url.includes('/src/binlog/apply/row-filter')) return 'plan + build';
  if (url.includes('/src/tuning/') || url.includes('/src/binlog/apply/adaptive-sizer') || url.includes('simple-statistics')) return 'tuning';
  if (url.includes('/src/binlog/apply/applier')) return 'write';
  return undefined;
}

export class CpuProfiler {
  private readonly session = new Session();

  async start(intervalMicroseconds = 500): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: intervalMicroseconds });
    await this.session.post('Profiler.start');
  }

  /** Stops profiling and returns each stage's share of the sampled CPU (0..1) and the top functions. */
  async stop(): Promise<{ shares: Record<Stage, number>; top: { name: string; share: number }[]; profile: Profile }> {
    const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: Profile };
    this.session.disconnect();
    return { ...classify(profile), profile };
  }
}

export function classify(profile: Profile): { shares: Record<Stage, number>; top: { name: string; share: number }[] } {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const stageOf = new Map<number, Stage | 'idle'>();
  const resolve = (id: number): Stage | 'idle' => {
    const known = stageOf.get(id);
    if (known) return known;
    const node = byId.get(id)!;
    const name = node.callFrame.functionName;
    let stage: Stage | 'idle';
    if (name === '(idle)' || name === '(program)') stage = 'idle';
    else if (name === '(garbage collector)') stage = 'gc';
    else {
      let found: Stage | undefined;
      let sawMysql2 = false;
      for (let at: number | undefined = id; at !== undefined && !found; at = parent.get(at)) {
        const url = byId.get(at)!.callFrame.url;
        found = stageOfFrame(url);
        if (url.includes('node_modules/mysql2/')) sawMysql2 = true;
      }
      stage = found ?? (sawMysql2 ? 'write' : 'other');
    }
    stageOf.set(id, stage);
    return stage;
  };
  const totals = new Map<Stage, number>(STAGES.map((stage) => [stage, 0]));
  const functions = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    const stage = resolve(id);
    if (stage === 'idle') return;
    busy += delta;
    totals.set(stage, totals.get(stage)! + delta);
    const frame = byId.get(id)!.callFrame;
    const name = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/')}`;
    functions.set(name, (functions.get(name) ?? 0) + delta);
  });
  const shares = Object.fromEntries(STAGES.map((stage) => [stage, busy > 0 ? totals.get(stage)! / busy : 0])) as Record<Stage, number>;
  const top = [...functions].sort((a, b) => b[1] - a[1]).slice(0, 15).map(([name, time]) => ({ name, share: busy > 0 ? time / busy : 0 }));
  return { shares, top };
}
