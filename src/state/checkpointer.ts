// Writes the state file every few seconds while the run changes it, and once more at the end.
import { errorMessage } from '../errors.js';
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

  /** Final save (also on errors and signals: the run's finally calls this). */
  stop(): void {
    clearInterval(this.timer);
    this.save();
  }
}
