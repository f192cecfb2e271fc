// Writes the state file every few seconds while the run changes it, and once more at the end.
import { errorMessage, StateFileError } from '../errors.js';
import type { Logger } from '../log.js';
import { writeStateFile } from './file.js';
import type { StateTracker } from './tracker.js';

export class Checkpointer {
  private readonly timer: NodeJS.Timeout;

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

  save(): void {
    if (!this.state.isChanged) return;
    try {
      writeStateFile(this.path, this.state.snapshot());
      this.state.markSaved();
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
