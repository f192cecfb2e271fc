// Writes the state file every few seconds while the run changes it, and once more at the end.
import { errorMessage, StateFileError } from '../errors.js';
import type { Logger } from '../log.js';
import { writeStateFile } from './file.js';
import type { StateTracker } from './tracker.js';

export class Checkpointer {
  private readonly timer: NodeJS.Timeout;
  /** When the file last held the run's state (written, or found unchanged), performance.now() ms. */
  private currentAt: number | undefined;

  constructor(
    private readonly path: string,
    private readonly state: StateTracker,
    seconds: number,
    private readonly logger: Logger,
  ) {
    this.timer = setInterval(() => this.save(), seconds * 1000);
    this.timer.unref();
    this.save();
  }

  /** Seconds since the state file last held the run's state (undefined before the first write). */
  get ageSeconds(): number | undefined {
    return this.currentAt === undefined ? undefined : (performance.now() - this.currentAt) / 1000;
  }

  save(): void {
    if (!this.state.isChanged) {
      this.currentAt = performance.now(); // the file already holds this state
      return;
    }
    try {
      writeStateFile(this.path, this.state.snapshot());
      this.state.markSaved();
      this.currentAt = performance.now();
    } catch (error) {
      this.logger.error({ path: this.path, error: errorMessage(error) }, 'cannot write the state file');
    }
  }

  /**
   * Writes the state now, and throws if it cannot: for changes that must be on disk before the
   * run goes on (the writers about to be stopped), not a few seconds later.
   */
  flush(): void {
    try {
      writeStateFile(this.path, this.state.snapshot());
      this.state.markSaved();
      this.currentAt = performance.now();
    } catch (error) {
      throw new StateFileError(`cannot write the state file ${this.path}: ${errorMessage(error)}`, { cause: error });
    }
  }

  /** Final save (also on errors and signals: the run's finally calls this). */
  stop(): void {
    clearInterval(this.timer);
    this.save();
  }
}
